package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the store to Prometheus. Each metric (namespace and
// metric name) becomes a summary family named after them (sanitized:
// "AWS/SageMaker" "ModelLatency" -> aws_sagemaker_model_latency), each of
// its series one summary labelled by its dimensions (EndpointName ->
// endpoint_name). _count and _sum are cumulative since the series was
// created (they survive Snapshot/Restore); the quantiles 0.5, 0.9 and 0.99
// are those of the series' newest 1-minute bucket.
//
// Series of one family with different dimension names share the union of
// label names, absent ones empty, as Prometheus requires. Series of a Scope
// other than the zero one are labelled aws_account and aws_region.
//
// Whatever was put, the export stays valid and loses no series; names are
// given deterministically (metrics in namespace then name order, dimension
// names in order):
//   - a dimension whose label name is reserved (quantile, aws_account,
//     aws_region) is labelled exported_<name>, as Prometheus renames
//     clashing target labels;
//   - dimensions of one metric whose label names collide ("a-b" and "a_b")
//     get _2, _3, ... suffixes in dimension-name order;
//   - a metric whose family name starts with a reserved prefix (see
//     Store.Collector) is named exported_<name>;
//   - a metric whose family name (or its _sum or _count) is taken by an
//     earlier one ("QB/a" "b_c" and "QB/a_b" "c"; "t" and "t_count") gets a
//     _2, _3, ... suffix.
//
// A series that still cannot be exported (a label value that is not
// UTF-8) is skipped and logged.
type Collector struct {
	s        *Store
	reserved []string
}

// Collector returns a prometheus.Collector over the store. It is unchecked:
// the set of families changes as series appear. Family names starting with
// one of reserved (the prefixes of the other metrics of the registry, such
// as "go_" and "process_") are left to those.
func (s *Store) Collector(reserved ...string) *Collector {
	return &Collector{s: s, reserved: slices.Clone(reserved)}
}

// Describe sends nothing: the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// The labels of a series of a Scope other than the zero one.
const (
	accountLabel = "aws_account"
	regionLabel  = "aws_region"
	// quantileLabel is the label of a summary's quantiles.
	quantileLabel = "quantile"
	// exportedPrefix marks a name that was renamed because it is reserved.
	exportedPrefix = "exported_"
)

var promQuantiles = []float64{0.5, 0.9, 0.99}

// promPoint is one series as exported.
type promPoint struct {
	scope     Scope
	dims      []Dimension
	count     uint64
	sum       float64
	quantiles map[float64]float64
	units     []string
}

// promFamily is the series of one metric (namespace and metric name).
type promFamily struct {
	ns, name string
	points   []promPoint
}

// Collect sends one summary per series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	var fams []*promFamily
	byKey := map[[2]string]*promFamily{}
	for _, m := range c.s.listMetrics("", true, MetricFilter{}) {
		sr := c.s.lookup(m.Namespace, m.MetricName, m.Dimensions)
		if sr == nil {
			continue // evicted meanwhile
		}
		scope, ns := scopeOf(m.Namespace)
		p := promPoint{scope: scope, dims: m.Dimensions}
		sr.mu.Lock()
		p.count, p.sum = uint64(sr.totalCount), sr.totalSum
		p.quantiles = newestQuantiles(sr)
		for _, ud := range sr.units {
			p.units = append(p.units, ud.unit)
		}
		sr.mu.Unlock()
		k := [2]string{ns, m.MetricName}
		f := byKey[k]
		if f == nil {
			f = &promFamily{ns: ns, name: m.MetricName}
			byKey[k] = f
			fams = append(fams, f)
		}
		f.points = append(f.points, p)
	}
	// Scoped series' keys sort first: name the families in the order of
	// their plain namespaces.
	slices.SortFunc(fams, func(a, b *promFamily) int {
		if c := strings.Compare(a.ns, b.ns); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	taken := map[string]bool{}
	for _, f := range fams {
		c.collectFamily(ch, f, c.familyName(f, taken))
	}
}

// newestQuantiles returns the promQuantiles of the series' newest 1-minute
// period, the data of all its units merged; nil if they are not available.
// sr.mu is held.
func newestQuantiles(sr *series) map[float64]float64 {
	newest := int64(math.MinInt64)
	for _, ud := range sr.units {
		if n := len(ud.lo); n > 0 {
			newest = max(newest, ud.lo[n-1].start)
		}
	}
	mg := newMerged()
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ud := range sr.units {
		if n := len(ud.lo); n > 0 && ud.lo[n-1].start == newest {
			b := &ud.lo[n-1]
			if b.noPct {
				return nil
			}
			mg.add(&b.sk)
			lo, hi = math.Min(lo, b.mn), math.Max(hi, b.mx)
		}
	}
	if newest == math.MinInt64 {
		return nil
	}
	vals := mg.quantiles(promQuantiles, lo, hi)
	out := make(map[float64]float64, len(vals))
	for i, q := range promQuantiles {
		out[q] = vals[i]
	}
	return out
}

// familyName names f's family uniquely among those named before (taken,
// which it updates), as the Collector documents.
func (c *Collector) familyName(f *promFamily, taken map[string]bool) string {
	base := MetricName(f.ns, f.name)
	if c.isReserved(base) {
		base = exportedPrefix + base
	}
	name := base
	for k := 2; ; k++ {
		if !taken[name] && !taken[name+"_sum"] && !taken[name+"_count"] {
			break
		}
		name = base + "_" + strconv.Itoa(k)
	}
	if name != MetricName(f.ns, f.name) {
		c.s.log.Debug("metric exported under another name", "namespace", f.ns, "metric", f.name, "name", name)
	}
	taken[name], taken[name+"_sum"], taken[name+"_count"] = true, true, true
	return name
}

// isReserved reports whether a family named name, or its _sum or _count,
// would be one of the reserved prefixes'.
func (c *Collector) isReserved(name string) bool {
	for _, p := range c.reserved {
		for _, n := range [...]string{name, name + "_sum", name + "_count"} {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
	}
	return false
}

// labelNames maps the dimension names of f's series to unique label names,
// as the Collector documents, and reports whether some series is scoped.
func labelNames(f *promFamily) (map[string]string, bool) {
	var dims []string
	scoped := false
	for _, p := range f.points {
		scoped = scoped || p.scope != Scope{}
		for _, d := range p.dims {
			dims = append(dims, d.Name)
		}
	}
	slices.Sort(dims)
	dims = slices.Compact(dims)
	taken := map[string]bool{quantileLabel: true, accountLabel: true, regionLabel: true}
	out := make(map[string]string, len(dims))
	for _, d := range dims {
		base := SanitizeLabelName(d)
		if base == quantileLabel || base == accountLabel || base == regionLabel {
			base = exportedPrefix + base
		}
		l := base
		for k := 2; taken[l]; k++ {
			l = strings.TrimSuffix(base, "_") + "_" + strconv.Itoa(k)
		}
		taken[l] = true
		out[d] = l
	}
	return out, scoped
}

func (c *Collector) collectFamily(ch chan<- prometheus.Metric, f *promFamily, name string) {
	labels, scoped := labelNames(f)
	names := make([]string, 0, len(labels)+2)
	for _, l := range labels {
		names = append(names, l)
	}
	if scoped {
		names = append(names, accountLabel, regionLabel)
	}
	slices.Sort(names)
	pos := make(map[string]int, len(names))
	for i, l := range names {
		pos[l] = i
	}
	var units []string
	for _, p := range f.points {
		for _, u := range p.units {
			if !slices.Contains(units, u) {
				units = append(units, u)
			}
		}
	}
	slices.Sort(units)
	what := "unit "
	if len(units) > 1 {
		what = "units "
	}
	desc := prometheus.NewDesc(name, "CloudWatch metric "+f.ns+" "+f.name+" ("+what+strings.Join(units, ", ")+")", names, nil)
	seen := map[string]bool{}
	for _, p := range f.points {
		values := make([]string, len(names))
		for _, d := range p.dims {
			values[pos[labels[d.Name]]] = d.Value
		}
		if scoped {
			values[pos[accountLabel]], values[pos[regionLabel]] = p.scope.Account, p.scope.Region
		}
		key := strings.Join(values, "\xff")
		if seen[key] {
			c.s.log.Warn("metric series not exported: another series of its metric has the same labels",
				"namespace", f.ns, "metric", f.name, "dimensions", fmt.Sprint(p.dims), "scope", fmt.Sprint(p.scope))
			continue
		}
		seen[key] = true
		m, err := prometheus.NewConstSummary(desc, p.count, p.sum, p.quantiles, values...)
		if err != nil {
			c.s.log.Warn("metric series not exported", "namespace", f.ns, "metric", f.name,
				"dimensions", fmt.Sprint(p.dims), "err", err)
			continue
		}
		ch <- m
	}
}

// MetricName is the Prometheus name of a CloudWatch metric: the namespace
// lower-cased, then the metric name with CamelCase words split ("AWS/SageMaker"
// "CPUUtilization" -> aws_sagemaker_cpu_utilization). Characters outside
// [a-z0-9_] become "_", runs of "_" collapse, and a leading digit gets a "_"
// prefix.
func MetricName(namespace, name string) string {
	return sanitize(sanitize(strings.ToLower(namespace), false)+"_"+name, true)
}

// SanitizeLabelName turns a dimension name into a Prometheus label name as
// MetricName does for metric names (EndpointName -> endpoint_name).
func SanitizeLabelName(s string) string {
	out := sanitize(s, true)
	return out
}

func sanitize(s string, splitWords bool) string {
	var b strings.Builder
	rs := []rune(s)
	lastUnderscore := true // suppress a leading "_"
	put := func(r rune) {
		if r == '_' {
			if lastUnderscore {
				return
			}
			lastUnderscore = true
		} else {
			lastUnderscore = false
		}
		b.WriteRune(r)
	}
	for i, r := range rs {
		switch {
		case r >= 'A' && r <= 'Z':
			// Word boundary: aB -> a_b, and ABc -> a_bc (CPUUtilization ->
			// cpu_utilization).
			if splitWords && i > 0 && (isLower(rs[i-1]) || isDigit(rs[i-1]) ||
				isUpper(rs[i-1]) && i+1 < len(rs) && isLower(rs[i+1])) {
				put('_')
			}
			put(r + 'a' - 'A')
		case isLower(r) || isDigit(r):
			put(r)
		default:
			put('_')
		}
	}
	out := strings.TrimRight(b.String(), "_")
	if out == "" || isDigit(rune(out[0])) {
		out = "_" + out
	}
	return out
}

func isLower(r rune) bool { return r >= 'a' && r <= 'z' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }
