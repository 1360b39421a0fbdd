package modelserver

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inferscale/inferscale/internal/modelserver/mlp"
)

func TestParseInstances(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    [][]float64
	}{
		{"json instances", "application/json", `{"instances": [[1, 2.5], [-3e2, 0]]}`, [][]float64{{1, 2.5}, {-300, 0}}},
		{"json list of lists", "application/json", `[[1,2],[3,4]]`, [][]float64{{1, 2}, {3, 4}}},
		{"json flat", "application/json", ` [0.5, -1] `, [][]float64{{0.5, -1}}},
		{"json flat inside instances", "application/json", `{"instances":[7,8]}`, [][]float64{{7, 8}}},
		{"json other fields ignored", "application/json", `{"instances":[[1]],"configuration":{"k":1}}`, [][]float64{{1}}},
		{"json with charset", "application/json; charset=utf-8", `[1]`, [][]float64{{1}}},
		{"csv", "text/csv", "1,2,3\n4, 5 ,6\n", [][]float64{{1, 2, 3}, {4, 5, 6}}},
		{"csv crlf and blank lines", "text/csv", "1,2\r\n\r\n3,4", [][]float64{{1, 2}, {3, 4}}},
		{"csv ragged rows", "text/csv", "1\n2,3", [][]float64{{1}, {2, 3}}},
		{"csv exponents", "text/csv; header=absent", "1e-3,-2E2", [][]float64{{0.001, -200}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInstances(tt.contentType, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseInstancesErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"no content type", "", `[1]`, 415, "missing Content-Type"},
		{"unsupported type", "application/x-protobuf", `[1]`, 415, `unsupported Content-Type "application/x-protobuf"`},
		{"malformed type", "application/json; =", `[1]`, 415, "malformed Content-Type"},
		{"empty body", "application/json", "", 400, "empty body"},
		{"blank body", "text/csv", " \n\n ", 400, "empty body"},
		{"malformed json", "application/json", `[[1,2]`, 400, "malformed JSON"},
		{"trailing garbage", "application/json", `[1] x`, 400, "malformed JSON"},
		{"object without instances", "application/json", `{"inputs":[[1]]}`, 400, `no "instances" field`},
		{"instances not a list", "application/json", `{"instances":3}`, 400, "instances: want an array of instances, got a number"},
		{"scalar", "application/json", `3`, 400, "body: want an array of instances, got a number"},
		{"no instances", "application/json", `{"instances":[]}`, 400, "instances: no instances"},
		{"string value", "application/json", `[[1,"2"]]`, 400, "body[0][1]: want a number, got a string"},
		{"null value", "application/json", `{"instances":[[1],[null]]}`, 400, "instances[1][0]: want a number, got null"},
		{"mixed flat and nested", "application/json", `[1,[2]]`, 400, "body[1]: want a number, got an array"},
		{"instance not a list", "application/json", `[[1],{"a":1}]`, 400, "body[1]: want an array of numbers, got an object"},
		{"empty instance", "application/json", `[[]]`, 400, "body[0]: empty instance"},
		{"json number too large", "application/json", `[1e400]`, 400, "malformed JSON"},
		{"csv not a number", "text/csv", "1,2\n3,x", 400, `CSV line 2, field 2: "x" is not a finite number`},
		{"csv empty field", "text/csv", "1,,2", 400, `CSV line 1, field 2: "" is not`},
		{"csv NaN", "text/csv", "NaN", 400, "not a finite number"},
		{"csv Inf", "text/csv", "1,+Inf", 400, "not a finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseInstances(tt.contentType, []byte(tt.body))
			var re *requestError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v, want a *requestError", err)
			}
			if re.status != tt.status || !strings.Contains(re.msg, tt.want) {
				t.Errorf("got %d %q, want %d containing %q", re.status, re.msg, tt.status, tt.want)
			}
		})
	}
}

func TestSamplePayloads(t *testing.T) {
	small := DefaultConfig()
	small.MLP = MLPConfig{Input: 6, Hidden: []int{4}, Classes: 3, Seed: 1}
	small.ModelDir = t.TempDir()

	fromFile := small
	fromFile.ModelDir = t.TempDir()
	writeWeights(t, fromFile.ModelDir, mustGenerate(t, 9, []int{11, 4, 2}))

	reference := small
	reference.Model = ModelReference

	tests := []struct {
		name  string
		cfg   Config
		width int
	}{
		{"generated mlp", small, 6},
		{"mlp from weights file", fromFile, 11},
		{"reference", reference, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payloads := SamplePayloads(tt.cfg, 5)
			if len(payloads) != 5 {
				t.Fatalf("%d payloads, want 5", len(payloads))
			}
			types := map[string]int{}
			for i, p := range payloads {
				types[p.ContentType]++
				instances, err := parseInstances(p.ContentType, p.Body)
				if err != nil {
					t.Fatalf("payload %d %q: %v", i, p.Body, err)
				}
				if len(instances) != 1 || len(instances[0]) != tt.width {
					t.Errorf("payload %d has %d instances of width %d, want 1 of %d", i, len(instances), len(instances[0]), tt.width)
				}
				for _, v := range instances[0] {
					if v < -1 || v > 1 {
						t.Errorf("payload %d: value %v outside [-1, 1]", i, v)
					}
				}
			}
			if types[ContentTypeJSON] == 0 || types[ContentTypeCSV] == 0 {
				t.Errorf("content types %v, want both JSON and CSV", types)
			}
			again := SamplePayloads(tt.cfg, 5)
			if !reflect.DeepEqual(payloads, again) {
				t.Error("two calls gave different payloads")
			}
			if bytes.Equal(payloads[0].Body, payloads[2].Body) {
				t.Error("payloads 0 and 2 are identical")
			}
		})
	}
	if got := SamplePayloads(small, 0); len(got) != 0 {
		t.Errorf("SamplePayloads(0) returned %d", len(got))
	}
}

func mustGenerate(t testing.TB, seed int64, sizes []int) *mlp.Network {
	t.Helper()
	n, err := mlp.Generate(seed, sizes)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writeWeights(t testing.TB, dir string, n *mlp.Network) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WriteJSON(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
