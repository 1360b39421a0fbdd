//go:build ignore

// strip copies botocore service models into this directory without their
// "documentation" members, which are three quarters of the bytes and which
// inferscale does not use; everything else, including key order, is kept.
//
//	go run strip.go [botocore data dir]
//
// The data dir defaults to the one of the local Python botocore install.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// models maps the embedded name to the botocore path.
var models = map[string]string{
	"sagemaker":               "sagemaker/2017-07-24",
	"sagemaker-runtime":       "sagemaker-runtime/2017-05-13",
	"application-autoscaling": "application-autoscaling/2016-02-06",
	"cloudwatch":              "cloudwatch/2010-08-01",
}

func main() {
	dir := ""
	if len(os.Args) > 1 {
		dir = os.Args[1]
	} else {
		out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			fail(fmt.Errorf("find botocore: %w", err))
		}
		dir = filepath.Join(strings.TrimSpace(string(out)), "data")
	}
	for name, rel := range models {
		if err := strip(filepath.Join(dir, rel, "service-2.json.gz"), name+".json.gz"); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "strip:", err)
	os.Exit(1)
}

func strip(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	dec := json.NewDecoder(zr)
	dec.UseNumber()
	var out bytes.Buffer
	if err := copyValue(dec, &out); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(out.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes of JSON, %d gzipped\n", dst, out.Len(), gz.Len())
	return os.WriteFile(dst, gz.Bytes(), 0o644)
}

// copyValue copies one JSON value token by token, dropping object members
// named "documentation".
func copyValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			first := true
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key := kt.(string)
				if key == "documentation" {
					var skip json.RawMessage
					if err := dec.Decode(&skip); err != nil {
						return err
					}
					continue
				}
				if !first {
					out.WriteByte(',')
				}
				first = false
				kb, _ := json.Marshal(key)
				out.Write(kb)
				out.WriteByte(':')
				if err := copyValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // }
				return err
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			first := true
			for dec.More() {
				if !first {
					out.WriteByte(',')
				}
				first = false
				if err := copyValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ]
				return err
			}
			out.WriteByte(']')
		}
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		out.Write(b)
	}
	return nil
}
