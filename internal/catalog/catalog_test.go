package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() < 270 {
		t.Errorf("default catalog has %d types, want at least 270", c.Len())
	}
	if c.Currency() != "USD" {
		t.Errorf("currency = %q", c.Currency())
	}
	tests := []struct {
		name      string
		vcpus     int
		memGiB    float64
		price     float64
		havePrice bool
	}{
		{"ml.m5.large", 2, 8, 0.115, true},
		{"ml.c5.xlarge", 4, 8, 0.204, true},
		{"ml.t2.medium", 2, 4, 0, false},
	}
	for _, tt := range tests {
		it, err := c.Lookup(tt.name)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", tt.name, err)
		}
		if it.VCPUs != tt.vcpus || it.MemoryGiB != tt.memGiB {
			t.Errorf("%s: vcpus %d mem %v, want %d %v", tt.name, it.VCPUs, it.MemoryGiB, tt.vcpus, tt.memGiB)
		}
		p, ok := it.Price("us-east-1")
		if ok != tt.havePrice || p != tt.price {
			t.Errorf("%s: price %v,%v want %v,%v", tt.name, p, ok, tt.price, tt.havePrice)
		}
		if it.MemoryBytes() != int64(tt.memGiB*(1<<30)) {
			t.Errorf("%s: MemoryBytes %d", tt.name, it.MemoryBytes())
		}
	}
	types := c.Types()
	for i := 1; i < len(types); i++ {
		if types[i-1].VCPUs > types[i].VCPUs {
			t.Fatalf("Types not ordered by vCPUs at %d", i)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	c, _ := Default()
	_, err := c.Lookup("m5.large")
	if !errors.Is(err, ErrUnknownType) || !strings.Contains(err.Error(), "did you mean ml.m5.large") {
		t.Errorf("Lookup(m5.large) = %v", err)
	}
	_, err = c.Lookup("ml.nope.large")
	if !errors.Is(err, ErrUnknownType) || !strings.Contains(err.Error(), "--catalog") {
		t.Errorf("Lookup(ml.nope.large) = %v", err)
	}
}

func TestMergeUserFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.json")
	user := `{"instanceTypes": [
		{"name": "ml.t2.medium", "pricePerHour": {"us-east-1": 0.056, "eu-west-1": 0.062}},
		{"name": "ml.m5.large", "pricePerHour": {"eu-west-1": 0.13}},
		{"name": "onprem.rtx4090", "vcpu": 16, "memoryGiB": 64, "gpus": 1, "gpuModel": "RTX 4090", "pricePerHour": {"us-east-1": 0.9}}
	]}`
	if err := os.WriteFile(path, []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, region string
		want         float64
		ok           bool
	}{
		{"ml.t2.medium", "us-east-1", 0.056, true},
		{"ml.t2.medium", "eu-west-1", 0.062, true},
		{"ml.m5.large", "us-east-1", 0.115, true}, // kept: merged per region
		{"ml.m5.large", "eu-west-1", 0.13, true},
		{"onprem.rtx4090", "us-east-1", 0.9, true},
		{"onprem.rtx4090", "eu-west-1", 0, false},
	}
	for _, tt := range tests {
		it, err := c.Lookup(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := it.Price(tt.region); p != tt.want || ok != tt.ok {
			t.Errorf("%s in %s: %v,%v want %v,%v", tt.name, tt.region, p, ok, tt.want, tt.ok)
		}
	}
	if it, _ := c.Lookup("ml.t2.medium"); it.VCPUs != 2 || it.MemoryGiB != 4 {
		t.Errorf("override lost hardware fields: %+v", it)
	}
	// The default catalog is untouched.
	d, _ := Default()
	if it, _ := d.Lookup("ml.m5.large"); len(it.PricePerHour) != 1 {
		t.Errorf("default catalog mutated: %v", it.PricePerHour)
	}
}

func TestMergeErrors(t *testing.T) {
	d, _ := Default()
	tests := []struct{ in, want string }{
		{`{`, "unexpected EOF"},
		{`{"types": []}`, `no "instanceTypes" list`},
		{`{"instanceTypes": [{"vcpu": 2}]}`, "name is required"},
		{`{"instanceTypes": [{"name": "x.new", "memoryGiB": 4}]}`, "vcpu must be at least 1"},
		{`{"instanceTypes": [{"name": "x.new", "vcpu": 2}]}`, "memoryGiB must be a positive number"},
		{`{"instanceTypes": [{"name": "ml.m5.large", "pricePerHour": {"us-east-1": -1}}]}`, "pricePerHour[us-east-1] must be a non-negative number"},
		{`{"instanceTypes": [{"name": "ml.m5.large", "vcpu": "two"}]}`, "cannot unmarshal string"},
		{`{"currency": "EUR", "instanceTypes": []}`, "currency EUR differs from USD"},
		// A misspelt field left ml.c5.large's 2 vCPUs as they were.
		{`{"instanceTypes": [{"name": "ml.c5.large", "vcpus": 4}]}`, `unknown field "vcpus"`},
	}
	for _, tt := range tests {
		_, err := d.Merge(strings.NewReader(tt.in), "test.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "test.json") {
			t.Errorf("Merge(%s) = %v, want error containing %q and the file name", tt.in, err, tt.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
