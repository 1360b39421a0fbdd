package local

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Allocator hands out CPUs of this host to instances. While they fit,
// instances get disjoint sets, and one CPU (the lowest) stays reserved for the
// load generator, so that neither disturbs the other. When an instance does
// not fit, it shares CPUs and the allocation carries a warning, because its
// measurements will then be pessimistic.
//
// CPU sets are plain sorted slices of CPU numbers. Hyperthread topology is
// not taken into account: a vCPU is one logical CPU of the host.
type Allocator struct {
	mu   sync.Mutex
	host []int       // usable CPUs, sorted; host[0] is reserved for the load generator
	use  map[int]int // CPU → number of instances using it
}

// NewAllocator returns an allocator over the given CPUs (typically the
// process's affinity at start).
func NewAllocator(host []int) *Allocator {
	h := slices.Clone(host)
	slices.Sort(h)
	return &Allocator{host: slices.Compact(h), use: map[int]int{}}
}

// Host returns the CPUs the allocator manages.
func (a *Allocator) Host() []int { return slices.Clone(a.host) }

// candidates are the CPUs instances may get: all but the reserved one.
func (a *Allocator) candidates() []int {
	if len(a.host) == 0 {
		return nil
	}
	return a.host[1:]
}

// Fits reports whether an instance with n vCPUs can get n CPUs of its own now,
// leaving the load generator's CPU alone. n ≤ 0 (no pinning) always fits.
func (a *Allocator) Fits(n int) bool {
	if n <= 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.free()) >= n
}

// free returns the candidate CPUs no instance uses.
func (a *Allocator) free() []int {
	var f []int
	for _, c := range a.candidates() {
		if a.use[c] == 0 {
			f = append(f, c)
		}
	}
	return f
}

// Allocate returns the CPUs for an instance with n vCPUs, and a warning when
// they are shared with other instances or with the load generator. n ≤ 0
// returns no CPUs (no pinning). Every non-empty result must be Released.
func (a *Allocator) Allocate(n int) (cpus []int, warning string) {
	if n <= 0 {
		return nil, ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch free, cand := a.free(), a.candidates(); {
	case len(free) >= n:
		cpus = slices.Clone(free[:n])
	case len(cand) < n:
		// The host cannot hold the instance and the load generator apart.
		cpus = slices.Clone(a.host)
		warning = fmt.Sprintf("host has %d usable CPUs (%s) but the instance type needs %d vCPUs plus 1 CPU kept for its callers (the load generator, or serve and its gateway): "+
			"running on shared CPUs, so CPU-bound results are pessimistic", len(a.host), FormatCPUList(a.host), n)
	default:
		// Room in principle, but other instances hold CPUs: share the least used.
		byUse := slices.Clone(cand)
		slices.SortStableFunc(byUse, func(x, y int) int { return a.use[x] - a.use[y] })
		cpus = byUse[:n]
		slices.Sort(cpus)
		warning = fmt.Sprintf("only %d of the host's %d CPUs are free of other instances and of the CPU kept for callers but the instance type needs %d vCPUs: "+
			"running on CPUs %s shared with other instances, so CPU-bound results are pessimistic", len(free), len(a.host), n, FormatCPUList(cpus))
	}
	for _, c := range cpus {
		a.use[c]++
	}
	return cpus, warning
}

// Release returns CPUs obtained from Allocate.
func (a *Allocator) Release(cpus []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range cpus {
		if a.use[c] > 0 {
			a.use[c]--
		}
		if a.use[c] == 0 {
			delete(a.use, c)
		}
	}
}

// Unused returns the host CPUs no instance uses, where the load generator
// belongs; it includes the reserved CPU unless a sharing instance took it.
func (a *Allocator) Unused() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var u []int
	for _, c := range a.host {
		if a.use[c] == 0 {
			u = append(u, c)
		}
	}
	return u
}

// FormatCPUList formats CPUs the way the kernel does in Cpus_allowed_list,
// e.g. "0-3,6".
func FormatCPUList(cpus []int) string {
	c := slices.Clone(cpus)
	slices.Sort(c)
	c = slices.Compact(c)
	var b strings.Builder
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(c[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(c[j]))
		}
		i = j + 1
	}
	return b.String()
}

// ParseCPUList parses the kernel's CPU list format ("0-3,6").
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	for part := range strings.SplitSeq(strings.TrimSpace(s), ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		l, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("parse CPU list %q: %w", s, err)
		}
		h := l
		if isRange {
			if h, err = strconv.Atoi(hi); err != nil || h < l {
				return nil, fmt.Errorf("parse CPU list %q: bad range %q", s, part)
			}
		}
		for c := l; c <= h; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

func cpuSet(cpus []int) *unix.CPUSet {
	var s unix.CPUSet
	for _, c := range cpus {
		s.Set(c)
	}
	return &s
}

func cpuSlice(s *unix.CPUSet) []int {
	var cpus []int
	for c := 0; c < len(s)*64; c++ {
		if s.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// threadCPUs returns the affinity of the calling thread.
func threadCPUs() ([]int, error) {
	var s unix.CPUSet
	if err := unix.SchedGetaffinity(0, &s); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	return cpuSlice(&s), nil
}

// setProcessCPUs sets the affinity of every thread of this process. Threads
// created meanwhile inherit the mask of their creator, so it repeats until a
// pass finds no thread it has not set.
func setProcessCPUs(cpus []int) error {
	set := cpuSet(cpus)
	done := map[int]bool{}
	for range 10 {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("set affinity of this process: %w", err)
		}
		changed := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("set affinity of thread %d to %s: %w", tid, FormatCPUList(cpus), err)
			}
			done[tid], changed = true, true
		}
		if !changed {
			return nil
		}
	}
	return nil
}
