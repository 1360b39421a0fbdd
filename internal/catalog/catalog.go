// Package catalog owns instance types: their hardware (vCPUs, memory,
// accelerators) and their price per hour by region.
//
// The default catalog is embedded (instance-types.json, see
// instance-types.README.md for its sources). Users add their own hardware or
// override prices with a file of the same shape; an entry for a type that
// already exists replaces only the fields it names, and its prices are merged
// region by region.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
)

//go:embed instance-types.json
var defaultJSON []byte

// InstanceType is one kind of machine a model can run on.
type InstanceType struct {
	Name                 string             `json:"name"`
	Family               string             `json:"family,omitempty"`
	VCPUs                int                `json:"vcpu"`
	MemoryGiB            float64            `json:"memoryGiB"`
	GPUs                 int                `json:"gpus,omitempty"`
	GPUModel             string             `json:"gpuModel,omitempty"`
	GPUMemoryGiB         float64            `json:"gpuMemoryGiB,omitempty"`
	Accelerator          string             `json:"accelerator,omitempty"`
	AcceleratorModel     string             `json:"acceleratorModel,omitempty"`
	AcceleratorCount     int                `json:"acceleratorCount,omitempty"`
	AcceleratorMemoryGiB float64            `json:"acceleratorMemoryGiB,omitempty"`
	Arch                 string             `json:"arch,omitempty"`
	PricePerHour         map[string]float64 `json:"pricePerHour,omitempty"`
	PriceSource          map[string]string  `json:"priceSource,omitempty"`
	SpecSource           string             `json:"specSource,omitempty"` // where vcpu, memory... come from
}

// MemoryBytes is the instance's memory in bytes.
func (t InstanceType) MemoryBytes() int64 { return int64(t.MemoryGiB * (1 << 30)) }

// Price returns the on-demand price per instance-hour in region, and whether
// the catalog has one.
func (t InstanceType) Price(region string) (float64, bool) {
	p, ok := t.PricePerHour[region]
	return p, ok
}

// Catalog is an immutable set of instance types. The zero value is empty.
type Catalog struct {
	types    map[string]InstanceType
	currency string
	sources  []string
}

// file is the on-disk shape shared by the default catalog and user files.
type file struct {
	Currency      string            `json:"currency"`
	InstanceTypes []json.RawMessage `json:"instanceTypes"`
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
	defaultErr  error
)

// Default returns the embedded catalog.
func Default() (*Catalog, error) {
	defaultOnce.Do(func() {
		defaultCat, defaultErr = (&Catalog{}).merge(bytes.NewReader(defaultJSON), "embedded catalog")
	})
	return defaultCat, defaultErr
}

// Load returns the embedded catalog with the user's files applied in order.
func Load(paths ...string) (*Catalog, error) {
	c, err := Default()
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("load catalog: %w", err)
		}
		c, err = c.merge(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Merge returns a new catalog: c with the entries read from r applied on top.
// source names r in error messages.
func (c *Catalog) Merge(r io.Reader, source string) (*Catalog, error) { return c.merge(r, source) }

func (c *Catalog) merge(r io.Reader, source string) (*Catalog, error) {
	var f file
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("read catalog %s: %w", source, err)
	}
	if f.InstanceTypes == nil {
		return nil, fmt.Errorf("read catalog %s: no \"instanceTypes\" list", source)
	}
	out := &Catalog{
		types:    make(map[string]InstanceType, len(c.types)+len(f.InstanceTypes)),
		currency: c.currency,
		sources:  append(append([]string(nil), c.sources...), source),
	}
	for k, v := range c.types {
		out.types[k] = v
	}
	if f.Currency != "" {
		if out.currency != "" && out.currency != f.Currency {
			return nil, fmt.Errorf("read catalog %s: currency %s differs from %s", source, f.Currency, out.currency)
		}
		out.currency = f.Currency
	}
	var errs []error
	for i, raw := range f.InstanceTypes {
		var head struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			errs = append(errs, fmt.Errorf("instanceTypes[%d]: %w", i, err))
			continue
		}
		if head.Name == "" {
			errs = append(errs, fmt.Errorf("instanceTypes[%d]: name is required", i))
			continue
		}
		t := out.types[head.Name].clone() // zero value for a new type
		// A misspelt field would otherwise leave the type as it was.
		fields := json.NewDecoder(bytes.NewReader(raw))
		fields.DisallowUnknownFields()
		if err := fields.Decode(&t); err != nil {
			errs = append(errs, fmt.Errorf("instanceTypes[%d] (%s): %w", i, head.Name, err))
			continue
		}
		if err := t.validate(); err != nil {
			errs = append(errs, fmt.Errorf("instanceTypes[%d] (%s): %w", i, head.Name, err))
			continue
		}
		out.types[t.Name] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read catalog %s: %w", source, err)
	}
	return out, nil
}

// clone copies t's maps so that unmarshalling onto the copy merges prices
// without touching the original.
func (t InstanceType) clone() InstanceType {
	if t.PricePerHour != nil {
		m := make(map[string]float64, len(t.PricePerHour))
		for k, v := range t.PricePerHour {
			m[k] = v
		}
		t.PricePerHour = m
	}
	if t.PriceSource != nil {
		m := make(map[string]string, len(t.PriceSource))
		for k, v := range t.PriceSource {
			m[k] = v
		}
		t.PriceSource = m
	}
	return t
}

func (t InstanceType) validate() error {
	switch {
	case t.VCPUs < 1:
		return fmt.Errorf("vcpu must be at least 1, got %d", t.VCPUs)
	case !(t.MemoryGiB > 0) || math.IsInf(t.MemoryGiB, 0):
		return fmt.Errorf("memoryGiB must be a positive number, got %v", t.MemoryGiB)
	case t.GPUs < 0:
		return fmt.Errorf("gpus must not be negative, got %d", t.GPUs)
	}
	for region, p := range t.PricePerHour {
		if !(p >= 0) || math.IsInf(p, 0) {
			return fmt.Errorf("pricePerHour[%s] must be a non-negative number, got %v", region, p)
		}
	}
	return nil
}

// Currency is the currency of every price, e.g. "USD".
func (c *Catalog) Currency() string { return c.currency }

// Len is the number of instance types.
func (c *Catalog) Len() int { return len(c.types) }

// ErrUnknownType is returned (wrapped) for an instance type not in the catalog.
var ErrUnknownType = errors.New("unknown instance type")

// Lookup returns the instance type called name.
func (c *Catalog) Lookup(name string) (InstanceType, error) {
	t, ok := c.types[name]
	if !ok {
		msg := fmt.Sprintf("%s %q: not in the catalog (%s)", ErrUnknownType, name, strings.Join(c.sources, ", "))
		if s := c.suggest(name); s != "" {
			msg += "; did you mean " + s + "?"
		} else {
			msg += "; add it with a catalog file (--catalog)"
		}
		return InstanceType{}, fmt.Errorf("%w", &unknownTypeError{msg: msg})
	}
	return t, nil
}

type unknownTypeError struct{ msg string }

func (e *unknownTypeError) Error() string        { return e.msg }
func (e *unknownTypeError) Is(target error) bool { return target == ErrUnknownType }

// suggest returns a known name close to name: the same with an "ml." prefix,
// or a type whose name contains it.
func (c *Catalog) suggest(name string) string {
	if !strings.HasPrefix(name, "ml.") {
		if _, ok := c.types["ml."+name]; ok {
			return "ml." + name
		}
	}
	return ""
}

// Types returns every instance type, ordered by vCPUs, memory, then name.
func (c *Catalog) Types() []InstanceType {
	out := make([]InstanceType, 0, len(c.types))
	for _, t := range c.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.VCPUs != b.VCPUs {
			return a.VCPUs < b.VCPUs
		}
		if a.MemoryGiB != b.MemoryGiB {
			return a.MemoryGiB < b.MemoryGiB
		}
		return a.Name < b.Name
	})
	return out
}

// NoPriceReason explains why t has no price in region, for output that leaves
// cost fields empty.
func (c *Catalog) NoPriceReason(t InstanceType, region string) string {
	return fmt.Sprintf("the catalog has no price for %s in %s; add one with a catalog file (--catalog) to get CostPerHour and CostPerInference", t.Name, region)
}
