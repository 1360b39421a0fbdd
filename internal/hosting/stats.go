package hosting

import (
	"cmp"
	"context"
	"os"
	"slices"
	"time"

	"github.com/inferscale/inferscale/internal/backend"
)

// InstanceStats is what the endpoint's sampler reports about one instance
// for one period: the statistics behind SageMaker's per-instance metrics
// (ConcurrentRequestsPerModel, CPUUtilization, MemoryUtilization,
// DiskUtilization, LoadedModelCount).
type InstanceStats struct {
	Endpoint string
	Owner    string // the endpoint's Options.Owner
	Variant  string
	Instance string
	// Start is the start of the period, a multiple of Period; the period
	// ends at Start+Period.
	Start  time.Time
	Period time.Duration
	// ConcurrentRequests is the mean number of requests in flight on the
	// instance, counting those waiting for a model to load, over the
	// samples taken while it was in service during the period.
	ConcurrentRequests float64
	// CPUUtilization is the CPU time the instance used since the previous
	// measure over the wall time, summed over its vCPUs as SageMaker
	// reports it (0 to 100 × vCPUs); nil if it cannot be measured.
	CPUUtilization *float64
	// MemoryUtilization is the instance's memory over its instance type's,
	// in percent; nil if it cannot be measured.
	MemoryUtilization *float64
	// DiskUtilization is the use of the file system of the variant's
	// WorkDir, in percent; nil if it cannot be measured.
	DiskUtilization *float64
	// MultiModel is set for an instance of a multi-model variant;
	// LoadedModels is then the number of models loaded on it.
	MultiModel   bool
	LoadedModels int
}

// StatsRecorder receives the statistics of every instance in service once
// per period, sorted by variant and instance.
type StatsRecorder interface {
	RecordInstanceStats([]InstanceStats)
}

// statsSampler turns samples taken every ConcurrencySampleInterval into one
// InstanceStats per instance and period. Periods are aligned to multiples
// of the period, so that each 10-second bucket of the metrics gets exactly
// one value per instance.
type statsSampler struct {
	endpoint string
	owner    string
	period   time.Duration
	usage    func(context.Context, backend.Instance) (backend.Usage, error)
	disk     func(path string) (float64, error)

	window time.Time // start of the period being sampled; zero before the first sample
	acc    map[*replica]*replicaAcc
}

// replicaAcc accumulates one instance's samples of the current period.
type replicaAcc struct {
	v        *Variant
	sum      float64 // requests in flight, summed over the samples
	n        int
	last     backend.Usage // the latest usage measure
	hasUsage bool
}

func newStatsSampler(endpoint, owner string, period time.Duration) *statsSampler {
	return &statsSampler{
		endpoint: endpoint, owner: owner, period: period, acc: map[*replica]*replicaAcc{},
		usage: func(ctx context.Context, i backend.Instance) (backend.Usage, error) { return i.Usage(ctx) },
		disk:  diskUtilization,
	}
}

// sample counts the requests in flight on every instance in service at
// now. When now starts a new period, it first returns the statistics of
// the period that ended (nil otherwise). Instances seen for the first time
// have their usage measured, as the baseline of their CPU utilization.
func (s *statsSampler) sample(ctx context.Context, now time.Time, variants []*Variant) []InstanceStats {
	w := now.Truncate(s.period)
	var out []InstanceStats
	if !s.window.IsZero() && w.After(s.window) {
		out = s.flush(ctx, variants)
	}
	if s.window.IsZero() || w.After(s.window) {
		s.window = w
	}
	for _, v := range variants {
		for _, r := range *v.ready.Load() {
			a := s.acc[r]
			if a == nil {
				a = &replicaAcc{v: v}
				s.acc[r] = a
				if u, err := s.usage(ctx, r.inst); err == nil {
					a.last, a.hasUsage = u, true
				}
			}
			a.sum += float64(r.outstanding.Load())
			a.n++
		}
	}
	return out
}

// flush returns the statistics of the period that just ended and starts a
// new one. Instances out of service are forgotten.
func (s *statsSampler) flush(ctx context.Context, variants []*Variant) []InstanceStats {
	inService := map[*replica]bool{}
	for _, v := range variants {
		for _, r := range *v.ready.Load() {
			inService[r] = true
		}
	}
	disks := map[string]*float64{}
	var out []InstanceStats
	for r, a := range s.acc {
		if a.n > 0 {
			st := InstanceStats{
				Endpoint: s.endpoint, Owner: s.owner, Variant: a.v.name, Instance: r.id, Start: s.window, Period: s.period,
				ConcurrentRequests: a.sum / float64(a.n),
				MultiModel:         r.models != nil,
			}
			if r.models != nil {
				st.LoadedModels = r.models.loadedCount()
			}
			if inService[r] && !ended(r) {
				if u, err := s.usage(ctx, r.inst); err == nil {
					cpu, mem := backend.Utilization(a.last, u, a.v.spec.MemoryBytes)
					if a.hasUsage {
						st.CPUUtilization = &cpu
					}
					if a.v.spec.MemoryBytes > 0 {
						st.MemoryUtilization = &mem
					}
					a.last, a.hasUsage = u, true
				}
				dir := a.v.workDir
				if _, ok := disks[dir]; !ok {
					disks[dir] = nil
					if d, err := s.disk(workDirOrCurrent(dir)); err == nil {
						disks[dir] = &d
					}
				}
				st.DiskUtilization = disks[dir]
			}
			out = append(out, st)
		}
		a.sum, a.n = 0, 0
		if !inService[r] {
			delete(s.acc, r)
		}
	}
	slices.SortFunc(out, func(a, b InstanceStats) int {
		return cmp.Or(cmp.Compare(a.Variant, b.Variant), cmp.Compare(a.Instance, b.Instance))
	})
	return out
}

func workDirOrCurrent(dir string) string {
	if dir != "" {
		return dir
	}
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "."
}

// runStats samples the endpoint's instances until ctx ends, reporting each
// period's statistics to rec.
func (e *Endpoint) runStats(ctx context.Context, rec StatsRecorder) {
	o := e.opts
	s := newStatsSampler(e.name, o.Owner, o.StatsPeriod)
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.Clock.After(o.ConcurrencySampleInterval):
		}
		if out := s.sample(ctx, o.Clock.Now(), e.variants); len(out) > 0 {
			rec.RecordInstanceStats(out)
		}
	}
}
