// Package metrics is the time-series store behind the CloudWatch view of
// inferscale: hosting writes per-request samples into it, the CloudWatch API
// and the autoscaler read statistics back, and /metrics exports it to
// Prometheus.
//
// A series is keyed by its Scope (account and region: see Store.In),
// namespace, metric name and dimensions. Each series keeps 10-second
// buckets for 3 hours and 1-minute buckets for 15 days, as CloudWatch does
// for high-resolution and standard metrics. A bucket holds
// SampleCount, Sum, Minimum, Maximum and a sparse quantile sketch; buckets
// exist only where data arrived. Nothing in the store reads the clock: Put
// takes the sample's timestamp and Evict takes now.
package metrics

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Resolutions and retentions of the two bucket rings.
const (
	HighResPeriod    = 10 * time.Second
	LowResPeriod     = time.Minute
	HighResRetention = 3 * time.Hour
	LowResRetention  = 15 * 24 * time.Hour

	// DefaultMaxSeries is the series limit when Options.MaxSeries is 0.
	DefaultMaxSeries = 10000
	// DefaultMaxBytes is the memory budget when Options.MaxBytes is 0:
	// about 200 series with full 15-day retention (a full series of
	// constant values takes about 2.4 MB; see BenchmarkMemoryPerSeries).
	DefaultMaxBytes = 512 << 20

	hiSec = int64(HighResPeriod / time.Second)
	loSec = int64(LowResPeriod / time.Second)
	// futureSlack: CloudWatch accepts timestamps up to 2 hours ahead, so
	// Put's own eviction (relative to a series' newest bucket) keeps that
	// much extra history rather than dropping data that Evict(now) still
	// considers retained.
	futureSlack = int64(2 * time.Hour / time.Second)
	numShards   = 16
)

// Errors returned by the store; test with errors.Is.
var (
	ErrTooManySeries    = errors.New("too many metric series")
	ErrInvalidParameter = errors.New("invalid parameter")
)

// Dimension is one name=value pair of a series key.
type Dimension struct {
	Name  string
	Value string
}

// Sample is one raw value of a batch (PutBatch).
type Sample struct {
	Name  string
	Value float64
	Unit  string
}

// StatisticSet is a pre-aggregated set of values, as PutMetricData's
// StatisticValues.
type StatisticSet struct {
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
}

// Options configures a Store. The zero value works.
type Options struct {
	// MaxSeries bounds the number of series; 0 means DefaultMaxSeries.
	MaxSeries int
	// MaxBytes bounds the memory the buckets take; 0 means DefaultMaxBytes.
	// Evict enforces it by dropping the oldest 1-minute data of every
	// series a day at a time, so recent data is never refused.
	MaxBytes int64
	// Logger receives Run's save failures; nil discards.
	Logger *slog.Logger
}

// Store is a bounded, thread-safe set of series. Create it with New.
type Store struct {
	root     View // of the zero Scope
	seed     maphash.Seed
	max      int
	maxBytes int64
	log      *slog.Logger
	shards   [numShards]shard

	countMu sync.Mutex
	count   int
}

type shard struct {
	mu     sync.RWMutex
	series map[uint64]*series // by key hash; collisions chained via next
}

// series is one time series. Its buckets are sorted by start and hold only
// periods with data.
type series struct {
	ns, name string
	dims     []Dimension
	next     *series

	mu sync.Mutex
	// units holds the data of each unit apart, as CloudWatch keeps it, in
	// the order the units arrived; most series have one.
	units      []unitData
	totalCount float64 // cumulative since creation, for Prometheus counters
	totalSum   float64
	last       int64 // newest sample time, unix seconds
	removed    bool  // Evict took the series out of the store: add must find or create it again
}

// unitData is the data a series received in one unit.
type unitData struct {
	unit   string // "None" for data without a unit
	hi, lo []bucket
}

// normUnit is the unit data is kept under: no unit is "None", as in
// CloudWatch.
func normUnit(u string) string {
	if u == "" {
		return "None"
	}
	return u
}

// unitData returns the data of unit (normalized), creating it if needed.
func (sr *series) unitData(unit string) *unitData {
	for i := range sr.units {
		if sr.units[i].unit == unit {
			return &sr.units[i]
		}
	}
	sr.units = append(sr.units, unitData{unit: unit})
	return &sr.units[len(sr.units)-1]
}

// bucket aggregates the samples of one 10-s or 1-min period.
type bucket struct {
	start              int64 // unix seconds, multiple of the resolution
	count, sum, mn, mx float64
	noPct              bool // a sample without usable distribution arrived
	sk                 sketch
}

// New returns an empty store.
func New(opts Options) *Store {
	s := &Store{seed: maphash.MakeSeed(), max: opts.MaxSeries, maxBytes: opts.MaxBytes, log: opts.Logger}
	s.root.s = s
	if s.max <= 0 {
		s.max = DefaultMaxSeries
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i := range s.shards {
		s.shards[i].series = map[uint64]*series{}
	}
	return s
}

// Len returns the number of series held.
func (s *Store) Len() int {
	s.countMu.Lock()
	defer s.countMu.Unlock()
	return s.count
}

// sortedDims returns dims sorted by name (then value). It allocates only when
// the caller's slice is not already sorted; it never modifies dims.
func sortedDims(dims []Dimension) []Dimension {
	if slices.IsSortedFunc(dims, cmpDim) {
		return dims
	}
	c := slices.Clone(dims)
	slices.SortFunc(c, cmpDim)
	return c
}

func cmpDim(a, b Dimension) int {
	if a.Name != b.Name {
		if a.Name < b.Name {
			return -1
		}
		return 1
	}
	switch {
	case a.Value < b.Value:
		return -1
	case a.Value > b.Value:
		return 1
	}
	return 0
}

// hashKey hashes a series key. dims must be sorted. Field separators keep
// ("ab","c") and ("a","bc") apart.
func (s *Store) hashKey(ns, name string, dims []Dimension) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(ns)
	h.WriteByte(0)
	h.WriteString(name)
	for _, d := range dims {
		h.WriteByte(0)
		h.WriteString(d.Name)
		h.WriteByte(1)
		h.WriteString(d.Value)
	}
	return h.Sum64()
}

func (sr *series) is(ns, name string, dims []Dimension) bool {
	return sr.ns == ns && sr.name == name && slices.Equal(sr.dims, dims)
}

// lookup finds a series; dims must be sorted.
func (s *Store) lookup(ns, name string, dims []Dimension) *series {
	h := s.hashKey(ns, name, dims)
	sh := &s.shards[h%numShards]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	for sr := sh.series[h]; sr != nil; sr = sr.next {
		if sr.is(ns, name, dims) {
			return sr
		}
	}
	return nil
}

// getOrCreate finds or creates a series; dims must be sorted.
func (s *Store) getOrCreate(ns, name string, dims []Dimension) (*series, error) {
	if sr := s.lookup(ns, name, dims); sr != nil {
		return sr, nil
	}
	if err := validKey(ns, name, dims); err != nil {
		return nil, err
	}
	h := s.hashKey(ns, name, dims)
	sh := &s.shards[h%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for sr := sh.series[h]; sr != nil; sr = sr.next {
		if sr.is(ns, name, dims) {
			return sr, nil
		}
	}
	s.countMu.Lock()
	if s.count >= s.max {
		s.countMu.Unlock()
		return nil, fmt.Errorf("add series %s %s: %w (limit %d)", plainNS(ns), name, ErrTooManySeries, s.max)
	}
	s.count++
	s.countMu.Unlock()
	sr := &series{ns: ns, name: name, dims: slices.Clone(dims), next: sh.series[h], last: math.MinInt64}
	sh.series[h] = sr
	return sr, nil
}

func validKey(ns, name string, dims []Dimension) error {
	if ns == "" || name == "" {
		return fmt.Errorf("series key %q %q: namespace and metric name are required: %w", plainNS(ns), name, ErrInvalidParameter)
	}
	for i, d := range dims {
		if d.Name == "" {
			return fmt.Errorf("series %s %s: empty dimension name: %w", plainNS(ns), name, ErrInvalidParameter)
		}
		if i > 0 && dims[i-1].Name == d.Name {
			return fmt.Errorf("series %s %s: duplicate dimension %s: %w", plainNS(ns), name, d.Name, ErrInvalidParameter)
		}
	}
	return nil
}

func validValue(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("value %v: %w", v, ErrInvalidParameter)
	}
	return nil
}

// put is Put with ns a series key's namespace, scope included (see View).
func (s *Store) put(ns, name string, dims []Dimension, value float64, unit string, t time.Time) error {
	if err := validValue(value); err != nil {
		return fmt.Errorf("put %s %s: %w", plainNS(ns), name, err)
	}
	dims = sortedDims(dims)
	return s.add(ns, name, dims, t.Unix(), unit, StatisticSet{1, value, value, value}, value, 1, value >= 0)
}

// add merges a statistic set into its series, creating the series if
// needed. A series that Evict removes between the lookup and the merge
// (it was empty: new, or all its data expired) is looked up again, so that
// no sample lands in a series the store no longer holds.
func (s *Store) add(ns, name string, dims []Dimension, ts int64, unit string, set StatisticSet, v float64, n uint32, pct bool) error {
	for {
		sr, err := s.getOrCreate(ns, name, dims)
		if err != nil {
			return fmt.Errorf("put %s %s: %w", plainNS(ns), name, err)
		}
		if sr.add(ts, unit, set, v, n, pct) {
			return nil
		}
	}
}

// putBatch is PutBatch with ns a series key's namespace.
func (s *Store) putBatch(ns string, dims []Dimension, t time.Time, samples []Sample) error {
	dims = sortedDims(dims)
	for _, smp := range samples {
		if err := s.put(ns, smp.Name, dims, smp.Value, smp.Unit, t); err != nil {
			return err
		}
	}
	return nil
}

// Handle is one series, resolved once for a writer that puts samples into
// it again and again (such as a variant's per-request metrics): Put skips
// sorting the dimensions, hashing the key and finding the series. It stays
// valid when Evict drops the series: the next Put creates it again. It is
// safe for concurrent use.
type Handle struct {
	s        *Store
	ns, name string
	dims     []Dimension // sorted
	unit     string
	sr       atomic.Pointer[series]
}

// handle is Handle with ns a series key's namespace.
func (s *Store) handle(ns, name string, dims []Dimension, unit string) (*Handle, error) {
	dims = slices.Clone(sortedDims(dims))
	if err := validKey(ns, name, dims); err != nil {
		return nil, err
	}
	return &Handle{s: s, ns: ns, name: name, dims: dims, unit: unit}, nil
}

// Put records one raw sample taken at t, as Store.Put does.
func (h *Handle) Put(value float64, t time.Time) error {
	if err := validValue(value); err != nil {
		return fmt.Errorf("put %s %s: %w", plainNS(h.ns), h.name, err)
	}
	ts := t.Unix()
	set := StatisticSet{1, value, value, value}
	if sr := h.sr.Load(); sr != nil && sr.add(ts, h.unit, set, value, 1, value >= 0) {
		return nil
	}
	for {
		sr, err := h.s.getOrCreate(h.ns, h.name, h.dims)
		if err != nil {
			return fmt.Errorf("put %s %s: %w", plainNS(h.ns), h.name, err)
		}
		h.sr.Store(sr)
		if sr.add(ts, h.unit, set, value, 1, value >= 0) {
			return nil
		}
	}
}

// putStatistics is PutStatistics with ns a series key's namespace.
func (s *Store) putStatistics(ns, name string, dims []Dimension, set StatisticSet, unit string, t time.Time) error {
	for _, v := range []float64{set.SampleCount, set.Sum, set.Minimum, set.Maximum} {
		if err := validValue(v); err != nil {
			return fmt.Errorf("put statistics %s %s: %w", plainNS(ns), name, err)
		}
	}
	if set.SampleCount <= 0 || set.Minimum > set.Maximum {
		return fmt.Errorf("put statistics %s %s: need SampleCount > 0 and Minimum <= Maximum: %w", plainNS(ns), name, ErrInvalidParameter)
	}
	dims = sortedDims(dims)
	uniform := set.Minimum == set.Maximum && set.Sum == set.Minimum*set.SampleCount
	integral := set.SampleCount == math.Trunc(set.SampleCount) && set.SampleCount <= math.MaxUint32
	return s.add(ns, name, dims, t.Unix(), unit, set, set.Minimum, uint32(set.SampleCount), uniform && integral && set.Minimum >= 0)
}

// add merges a statistic set into the 10-s and 1-min buckets of ts. If pct,
// the set is n copies of v and goes into the sketches. It reports false,
// changing nothing, if the series has been removed from the store.
func (sr *series) add(ts int64, unit string, set StatisticSet, v float64, n uint32, pct bool) bool {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.removed {
		return false
	}
	ud := sr.unitData(normUnit(unit))
	sr.totalCount += set.SampleCount
	sr.totalSum += set.Sum
	sr.last = max(sr.last, ts)
	var bin int32
	if pct {
		bin = sketchBin(v)
	}
	for _, r := range [2]struct {
		b   *[]bucket
		res int64
		ret int64
	}{
		{&ud.hi, hiSec, int64(HighResRetention / time.Second)},
		{&ud.lo, loSec, int64(LowResRetention / time.Second)},
	} {
		b := bucketFor(r.b, floorDiv(ts, r.res)*r.res, r.ret+futureSlack)
		if b == nil {
			continue // older than the ring keeps
		}
		if b.count == 0 {
			b.mn, b.mx = set.Minimum, set.Maximum
		} else {
			b.mn, b.mx = math.Min(b.mn, set.Minimum), math.Max(b.mx, set.Maximum)
		}
		b.count += set.SampleCount
		b.sum += set.Sum
		switch {
		case !pct:
			b.noPct = true
		case !b.noPct:
			b.sk.addAt(bin, n)
			if b != &(*r.b)[len(*r.b)-1] {
				b.sk.pack() // an out-of-order sample into a sealed bucket
			}
		}
	}
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// bucketFor returns the bucket starting at start, creating it if needed.
// Appending a new newest bucket seals the previous one and drops buckets
// older than keep seconds before it. It returns nil if start itself is that
// old.
func bucketFor(bp *[]bucket, start, keep int64) *bucket {
	b := *bp
	n := len(b)
	if n > 0 && b[n-1].start == start {
		return &b[n-1]
	}
	if n == 0 || b[n-1].start < start {
		if n > 0 {
			b[n-1].sk.pack()
		}
		cut := 0
		for cut < n && b[cut].start <= start-keep {
			cut++
		}
		if cut > 0 {
			clear(b[:cut]) // release sketches
			b = b[cut:]
		}
		b = append(b, bucket{start: start})
		*bp = b
		return &b[len(b)-1]
	}
	if start <= b[n-1].start-keep {
		return nil
	}
	i, found := slices.BinarySearchFunc(b, start, func(x bucket, t int64) int { return cmpInt(x.start, t) })
	if !found {
		b = slices.Insert(b, i, bucket{start: start})
		*bp = b
	}
	return &b[i]
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Evict drops buckets past their retention at now (10-s buckets older than
// 3 hours, 1-min buckets older than 15 days: those starting before
// now minus the retention) and series left without data. Then, while the
// store holds more than its byte budget (Options.MaxBytes), it drops the
// oldest day of 1-minute data of all series, and logs the retention that
// remains. It returns the number of series removed.
func (s *Store) Evict(now time.Time) int {
	hiCut := now.Add(-HighResRetention).Unix()
	loCut := now.Add(-LowResRetention).Unix()
	removed := s.dropBefore(hiCut, loCut)
	if s.Bytes() <= s.maxBytes {
		return removed
	}
	const day = 24 * 60 * 60
	for loCut < now.Unix() && s.Bytes() > s.maxBytes {
		loCut += day
		removed += s.dropBefore(hiCut, loCut)
	}
	s.log.Warn("metrics over their memory budget: 1-minute history shortened",
		"budget_bytes", s.maxBytes, "bytes", s.Bytes(), "retention", now.Sub(time.Unix(loCut, 0)).Round(time.Hour).String())
	return removed
}

// dropBefore drops 10-s buckets that start before hiCut and 1-min buckets
// that start before loCut (unix seconds), and the series left empty. It
// returns the number of series removed.
func (s *Store) dropBefore(hiCut, loCut int64) int {
	removed := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for h, head := range sh.series {
			var keep *series
			for sr := head; sr != nil; {
				next := sr.next
				sr.mu.Lock()
				kept := sr.units[:0]
				for _, ud := range sr.units {
					ud.hi, ud.lo = dropBefore(ud.hi, hiCut), dropBefore(ud.lo, loCut)
					if len(ud.hi) > 0 || len(ud.lo) > 0 {
						kept = append(kept, ud)
					}
				}
				clear(sr.units[len(kept):])
				sr.units = kept
				empty := len(sr.units) == 0
				sr.removed = empty
				sr.mu.Unlock()
				if empty {
					removed++
				} else {
					sr.next, keep = keep, sr
				}
				sr = next
			}
			if keep == nil {
				delete(sh.series, h)
			} else {
				sh.series[h] = keep
			}
		}
		sh.mu.Unlock()
	}
	s.countMu.Lock()
	s.count -= removed
	s.countMu.Unlock()
	return removed
}

// Bytes estimates the memory the store's buckets take: the bucket arrays at
// their capacity and the sketches' bins.
func (s *Store) Bytes() int64 {
	var n int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, head := range sh.series {
			for sr := head; sr != nil; sr = sr.next {
				sr.mu.Lock()
				n += sr.bytes()
				sr.mu.Unlock()
			}
		}
		sh.mu.RUnlock()
	}
	return n
}

const bucketBytes = int64(unsafe.Sizeof(bucket{}))

// bytes estimates the memory of one series; sr.mu is held.
func (sr *series) bytes() int64 {
	n := int64(cap(sr.units))*int64(unsafe.Sizeof(unitData{})) + 128
	for _, ud := range sr.units {
		n += int64(cap(ud.hi)+cap(ud.lo)) * bucketBytes
		for _, r := range [2][]bucket{ud.hi, ud.lo} {
			for i := range r {
				n += int64(r[i].sk.sizeBytes())
			}
		}
	}
	return n
}

// dropBefore removes buckets that start before cut.
func dropBefore(b []bucket, cut int64) []bucket {
	i := 0
	for i < len(b) && b[i].start < cut {
		i++
	}
	if i == 0 {
		return b
	}
	if i == len(b) {
		return nil
	}
	clear(b[:i])
	return b[i:]
}
