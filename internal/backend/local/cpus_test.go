package local

import (
	"slices"
	"strings"
	"testing"
)

func TestAllocator(t *testing.T) {
	type step struct {
		alloc     int   // vCPUs to allocate; 0 with release set means release
		release   int   // index of an earlier allocation to release (1-based), 0 = none
		want      []int // expected CPUs
		warn      []string
		fitsAfter map[int]bool
		unused    []int
	}
	tests := []struct {
		name  string
		host  []int
		steps []step
	}{
		{"two cores, one vCPU", []int{0, 1}, []step{
			{alloc: 1, want: []int{1}, fitsAfter: map[int]bool{1: false, 0: true}, unused: []int{0}},
		}},
		{"two cores, two vCPUs share", []int{1, 0}, []step{
			{alloc: 2, want: []int{0, 1}, warn: []string{"2 usable CPUs", "needs 2 vCPUs", "shared", "pessimistic"}, unused: nil},
		}},
		{"one core", []int{0}, []step{
			{alloc: 1, want: []int{0}, warn: []string{"1 usable CPUs", "needs 1 vCPUs", "pessimistic"}, fitsAfter: map[int]bool{1: false}},
		}},
		{"eight cores, disjoint then shared then released", []int{0, 1, 2, 3, 4, 5, 6, 7}, []step{
			{alloc: 2, want: []int{1, 2}, fitsAfter: map[int]bool{5: true, 6: false}, unused: []int{0, 3, 4, 5, 6, 7}},
			{alloc: 4, want: []int{3, 4, 5, 6}, fitsAfter: map[int]bool{1: true, 2: false}, unused: []int{0, 7}},
			{alloc: 2, want: []int{1, 7}, warn: []string{"only 1 of the host's 8 CPUs", "needs 2 vCPUs", "shared with other instances"}, unused: []int{0}},
			{release: 2, fitsAfter: map[int]bool{4: true, 5: false}, unused: []int{0, 3, 4, 5, 6}},
			{release: 1, unused: []int{0, 2, 3, 4, 5, 6}},
			{release: 3, fitsAfter: map[int]bool{7: true, 8: false}, unused: []int{0, 1, 2, 3, 4, 5, 6, 7}},
		}},
		{"host with holes", []int{2, 5, 9}, []step{
			{alloc: 2, want: []int{5, 9}, unused: []int{2}},
		}},
		{"no pinning", []int{0, 1}, []step{
			{alloc: 0, want: nil, fitsAfter: map[int]bool{0: true, 1: true}, unused: []int{0, 1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAllocator(tt.host)
			var got [][]int
			for i, s := range tt.steps {
				if s.release > 0 {
					a.Release(got[s.release-1])
				} else {
					cpus, warn := a.Allocate(s.alloc)
					got = append(got, cpus)
					if !slices.Equal(cpus, s.want) {
						t.Errorf("step %d: Allocate(%d) = %v, want %v", i, s.alloc, cpus, s.want)
					}
					if (warn == "") != (len(s.warn) == 0) {
						t.Errorf("step %d: warning %q, want one containing %q", i, warn, s.warn)
					}
					for _, w := range s.warn {
						if !strings.Contains(warn, w) {
							t.Errorf("step %d: warning %q lacks %q", i, warn, w)
						}
					}
				}
				for n, want := range s.fitsAfter {
					if got := a.Fits(n); got != want {
						t.Errorf("step %d: Fits(%d) = %v, want %v", i, n, got, want)
					}
				}
				if u := a.Unused(); !slices.Equal(u, s.unused) {
					t.Errorf("step %d: Unused() = %v, want %v", i, u, s.unused)
				}
			}
		})
	}
}

func TestCPUList(t *testing.T) {
	tests := []struct {
		cpus []int
		text string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 1}, "0-1"},
		{[]int{0, 1, 2, 3, 6}, "0-3,6"},
		{[]int{1, 3, 5, 6, 7, 9}, "1,3,5-7,9"},
	}
	for _, tt := range tests {
		if got := FormatCPUList(tt.cpus); got != tt.text {
			t.Errorf("FormatCPUList(%v) = %q, want %q", tt.cpus, got, tt.text)
		}
		got, err := ParseCPUList(tt.text + "\n")
		if err != nil || !slices.Equal(got, tt.cpus) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v", tt.text, got, err, tt.cpus)
		}
	}
	for _, bad := range []string{"a", "3-1", "1-x"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("ParseCPUList(%q) succeeded", bad)
		}
	}
}
