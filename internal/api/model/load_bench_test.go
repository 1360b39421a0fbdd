package model

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// BenchmarkParseSageMaker measures what Load costs on first use for the
// largest model: gunzip plus parse.
func BenchmarkParseSageMaker(b *testing.B) {
	data, err := embedded.ReadFile("models/sagemaker.json.gz")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Parse(zr); err != nil {
			b.Fatal(err)
		}
	}
}
