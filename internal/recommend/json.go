package recommend

import (
	"encoding/json"
	"math"
)

// Points are persisted with their steps (a job's steps survive a restart).
// JSON has no NaN, which marks an unknown CPU or memory reading, so those
// are written as null and read back as NaN.

// pointJSON is Point with its readings that may be unknown as pointers.
type pointJSON struct {
	pointAlias
	CPU    *float64 `json:"cpuPercent"`
	Memory *float64 `json:"memoryPercent"`
}

// pointAlias has Point's fields without its methods.
type pointAlias Point

// MarshalJSON writes unknown (NaN) CPU and memory readings as null.
func (p Point) MarshalJSON() ([]byte, error) {
	out := pointJSON{pointAlias: pointAlias(p)}
	if !math.IsNaN(p.CPU) {
		out.CPU = &p.CPU
	}
	if !math.IsNaN(p.Memory) {
		out.Memory = &p.Memory
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads null or absent CPU and memory readings as NaN.
func (p *Point) UnmarshalJSON(b []byte) error {
	var in pointJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*p = Point(in.pointAlias)
	p.CPU, p.Memory = math.NaN(), math.NaN()
	if in.CPU != nil {
		p.CPU = *in.CPU
	}
	if in.Memory != nil {
		p.Memory = *in.Memory
	}
	return nil
}
