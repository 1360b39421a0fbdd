package backend

import (
	"math"
	"testing"
	"time"
)

func TestUtilization(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const gib = 1 << 30
	tests := []struct {
		name     string
		from, to Usage
		memory   int64
		cpu, mem float64
	}{
		{"one busy core", Usage{At: t0, CPU: 3 * time.Second}, Usage{At: t0.Add(2 * time.Second), CPU: 5 * time.Second, MemoryBytes: gib / 4}, gib, 100, 25},
		{"two busy cores sum", Usage{At: t0}, Usage{At: t0.Add(time.Second), CPU: 2 * time.Second, MemoryBytes: gib}, 2 * gib, 200, 50},
		{"quarter core", Usage{At: t0}, Usage{At: t0.Add(4 * time.Second), CPU: time.Second, MemoryBytes: 3 * gib}, 2 * gib, 25, 150},
		{"idle", Usage{At: t0, CPU: time.Second}, Usage{At: t0.Add(time.Second), CPU: time.Second, MemoryBytes: 1}, 0, 0, 0},
		{"no time elapsed", Usage{At: t0}, Usage{At: t0, CPU: time.Second, MemoryBytes: gib}, gib, 0, 100},
		{"samples reversed", Usage{At: t0.Add(time.Second), CPU: 2 * time.Second}, Usage{At: t0, CPU: time.Second}, gib, 0, 0},
		{"counter went back", Usage{At: t0, CPU: 2 * time.Second}, Usage{At: t0.Add(time.Second), CPU: time.Second}, gib, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cpu, mem := Utilization(tt.from, tt.to, tt.memory)
			if math.Abs(cpu-tt.cpu) > 1e-9 || math.Abs(mem-tt.mem) > 1e-9 {
				t.Errorf("Utilization = %v%% CPU, %v%% memory; want %v%%, %v%%", cpu, mem, tt.cpu, tt.mem)
			}
		})
	}
}
