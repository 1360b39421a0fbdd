package metrics

import (
	"fmt"
	"strings"
	"time"
)

// Scope is the account and region a series belongs to: CloudWatch keeps the
// metrics of each account, in each region, apart, so that two endpoints of
// the same name in two regions have two sets of series. The zero Scope is
// the store's default one, which Store's own methods read and write.
type Scope struct{ Account, Region string }

// View is the part of a store that holds one Scope's series: its methods
// are Store's, confined to that scope. Create it with Store.In.
type View struct {
	s      *Store
	scope  Scope
	prefix string // of the namespaces of the scope's series keys; "" for the zero Scope
	err    error  // why the scope is unusable, if it is
}

// scopeMark starts, ends and separates the parts of a scope's prefix. No
// namespace may contain it, so that the scopes' keys never meet.
const scopeMark = "\x00"

// In returns the view of sc's series.
func (s *Store) In(sc Scope) *View {
	v := &View{s: s, scope: sc}
	switch {
	case strings.Contains(sc.Account, scopeMark) || strings.Contains(sc.Region, scopeMark):
		v.err = fmt.Errorf("scope %q %q: a NUL character: %w", sc.Account, sc.Region, ErrInvalidParameter)
	case sc != Scope{}:
		v.prefix = scopeMark + sc.Account + scopeMark + sc.Region + scopeMark
	}
	return v
}

// Scope returns the view's scope.
func (v *View) Scope() Scope { return v.scope }

// key returns the namespace of ns's series keys in the view's scope.
func (v *View) key(ns string) (string, error) {
	if v.err != nil {
		return "", v.err
	}
	if strings.Contains(ns, scopeMark) {
		return "", fmt.Errorf("namespace %q: a NUL character: %w", ns, ErrInvalidParameter)
	}
	return v.prefix + ns, nil
}

// inScope returns ns, a key's namespace, without prefix, and whether it is
// in the scope of that prefix.
func inScope(ns, prefix string) (string, bool) {
	if prefix == "" {
		return ns, !strings.HasPrefix(ns, scopeMark)
	}
	rest, ok := strings.CutPrefix(ns, prefix)
	return rest, ok
}

// scopeOf splits a key's namespace into its scope and plain namespace.
func scopeOf(ns string) (Scope, string) {
	rest, ok := strings.CutPrefix(ns, scopeMark)
	if !ok {
		return Scope{}, ns
	}
	account, rest, _ := strings.Cut(rest, scopeMark)
	region, plain, _ := strings.Cut(rest, scopeMark)
	return Scope{account, region}, plain
}

// plainNS is a key's namespace without its scope, for messages.
func plainNS(ns string) string {
	_, plain := scopeOf(ns)
	return plain
}

// Put records one raw sample taken at t, as Store.Put does.
func (v *View) Put(ns, name string, dims []Dimension, value float64, unit string, t time.Time) error {
	k, err := v.key(ns)
	if err != nil {
		return fmt.Errorf("put %s %s: %w", ns, name, err)
	}
	return v.s.put(k, name, dims, value, unit, t)
}

// PutBatch records samples that share namespace, dimensions and time, as
// Store.PutBatch does.
func (v *View) PutBatch(ns string, dims []Dimension, t time.Time, samples []Sample) error {
	k, err := v.key(ns)
	if err != nil {
		return fmt.Errorf("put %s: %w", ns, err)
	}
	return v.s.putBatch(k, dims, t, samples)
}

// PutStatistics records a pre-aggregated statistic set, as
// Store.PutStatistics does.
func (v *View) PutStatistics(ns, name string, dims []Dimension, set StatisticSet, unit string, t time.Time) error {
	k, err := v.key(ns)
	if err != nil {
		return fmt.Errorf("put statistics %s %s: %w", ns, name, err)
	}
	return v.s.putStatistics(k, name, dims, set, unit, t)
}

// Handle returns a handle on a series of the scope, as Store.Handle does.
func (v *View) Handle(ns, name string, dims []Dimension, unit string) (*Handle, error) {
	k, err := v.key(ns)
	if err != nil {
		return nil, err
	}
	return v.s.handle(k, name, dims, unit)
}

// Query returns the datapoints of a series of the scope, as Store.Query
// does.
func (v *View) Query(q Query) ([]Datapoint, error) {
	k, err := v.key(q.Namespace)
	if err != nil {
		return nil, fmt.Errorf("query %s %s: %w", q.Namespace, q.MetricName, err)
	}
	q.Namespace = k
	return v.s.query(q)
}

// ListMetrics returns the scope's series matching f, as Store.ListMetrics
// does.
func (v *View) ListMetrics(f MetricFilter) []Metric {
	if v.err != nil {
		return nil
	}
	return v.s.listMetrics(v.prefix, false, f)
}

// Put records one raw sample taken at t into the zero Scope. It is the hot
// path: for an existing series and a value in a known sketch bin it does
// not allocate. unit is the CloudWatch unit name ("Count", "Microseconds",
// ...); the series keeps each unit's data apart, as CloudWatch does (no
// unit is "None").
func (s *Store) Put(ns, name string, dims []Dimension, value float64, unit string, t time.Time) error {
	return s.zero().Put(ns, name, dims, value, unit, t)
}

// PutBatch records several samples that share namespace, dimensions and
// time, such as a request's Invocations, ModelLatency and OverheadLatency,
// into the zero Scope. Samples before an invalid one are recorded.
func (s *Store) PutBatch(ns string, dims []Dimension, t time.Time, samples []Sample) error {
	return s.zero().PutBatch(ns, dims, t, samples)
}

// PutStatistics records a pre-aggregated statistic set into the zero
// Scope. As in CloudWatch, the set contributes to percentiles only when all
// its values are equal (Minimum == Maximum and Sum == Minimum*SampleCount)
// and not negative; otherwise percentiles of the buckets it lands in become
// unavailable.
func (s *Store) PutStatistics(ns, name string, dims []Dimension, set StatisticSet, unit string, t time.Time) error {
	return s.zero().PutStatistics(ns, name, dims, set, unit, t)
}

// Handle returns a handle on the series of ns, name and dims of the zero
// Scope, whose samples are in unit. The series is created by the first
// Put, as Store.Put would.
func (s *Store) Handle(ns, name string, dims []Dimension, unit string) (*Handle, error) {
	return s.zero().Handle(ns, name, dims, unit)
}

// Query returns the datapoints of a series of the zero Scope in the periods
// of [Start, End) that hold data, in ascending time order. An unknown series
// yields no datapoints.
func (s *Store) Query(q Query) ([]Datapoint, error) { return s.zero().Query(q) }

// ListMetrics returns the series of the zero Scope matching f, sorted by
// namespace, name and dimensions.
func (s *Store) ListMetrics(f MetricFilter) []Metric { return s.zero().ListMetrics(f) }

func (s *Store) zero() *View { return &s.root }
