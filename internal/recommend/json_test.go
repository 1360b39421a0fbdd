package recommend

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestStepResultJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		cpu, mem float64
		wantNull bool
	}{
		{"measured", 87.5, 1.25, false},
		{"unknown", math.NaN(), math.NaN(), true},
		{"zero", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := StepResult{
				Index: 2, InstanceType: "ml.c5.large", Status: StatusCompleted,
				Points: []Point{{Stage: "ramp", Users: 4, Duration: 2 * time.Second, Sent: 100, Throughput: 49.5, P95: 30 * time.Millisecond, CPU: tt.cpu, Memory: tt.mem}},
				Best:   &Point{Stage: "confirm", OfferedRate: 49, CPU: tt.cpu, Memory: tt.mem},
			}
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(b), `"cpuPercent":null`); got != tt.wantNull {
				t.Errorf("JSON %s: cpuPercent null = %v, want %v", b, got, tt.wantNull)
			}
			var out StepResult
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			for _, p := range []Point{out.Points[0], *out.Best} {
				same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
				if !same(p.CPU, tt.cpu) || !same(p.Memory, tt.mem) {
					t.Errorf("read back CPU %v memory %v, want %v %v", p.CPU, p.Memory, tt.cpu, tt.mem)
				}
			}
			if p := out.Points[0]; p.Users != 4 || p.Throughput != 49.5 || p.P95 != 30*time.Millisecond || p.Stage != "ramp" || p.Duration != 2*time.Second {
				t.Errorf("read back %+v", p)
			}
		})
	}
}
