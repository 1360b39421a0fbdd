package metrics

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the store to Prometheus. Each series becomes a summary
// named after its namespace and metric name (sanitized: "AWS/SageMaker"
// "ModelLatency" -> aws_sagemaker_model_latency), labelled by its dimensions
// (EndpointName -> endpoint_name). _count and _sum are cumulative since the
// series was created (they survive Snapshot/Restore); the quantiles 0.5, 0.9
// and 0.99 are those of the series' newest 1-minute bucket.
//
// Series of one family with different dimension names share the union of
// label names, absent ones empty, as Prometheus requires. Series of a Scope
// other than the zero one are labelled aws_account and aws_region. If
// sanitizing maps two series to the same name and labels, the first in key
// order is kept.
type Collector struct{ s *Store }

// Collector returns a prometheus.Collector over the store. It is unchecked:
// the set of families changes as series appear.
func (s *Store) Collector() *Collector { return &Collector{s} }

// Describe sends nothing: the collector is unchecked.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// The labels of a series of a Scope other than the zero one.
const (
	accountLabel = "aws_account"
	regionLabel  = "aws_region"
)

var promQuantiles = []float64{0.5, 0.9, 0.99}

type promPoint struct {
	labels     map[string]string
	count      uint64
	sum        float64
	quantiles  map[float64]float64
	unit, help string
}

// Collect sends one summary per series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	families := map[string][]promPoint{}
	var names []string
	for _, m := range c.s.listMetrics("", true, MetricFilter{}) {
		sr := c.s.lookup(m.Namespace, m.MetricName, m.Dimensions)
		if sr == nil {
			continue // evicted meanwhile
		}
		p := promPoint{labels: map[string]string{}}
		for _, d := range m.Dimensions {
			p.labels[SanitizeLabelName(d.Name)] = d.Value
		}
		scope, ns := scopeOf(m.Namespace)
		if scope != (Scope{}) {
			p.labels[accountLabel], p.labels[regionLabel] = scope.Account, scope.Region
		}
		m.Namespace = ns
		sr.mu.Lock()
		p.count, p.sum, p.unit = uint64(sr.totalCount), sr.totalSum, unitOrNone(sr.unit)
		if n := len(sr.lo); n > 0 && !sr.lo[n-1].noPct {
			b := &sr.lo[n-1]
			mg := newMerged()
			mg.add(&b.sk)
			vals := mg.quantiles(promQuantiles, b.mn, b.mx)
			p.quantiles = make(map[float64]float64, len(vals))
			for i, q := range promQuantiles {
				p.quantiles[q] = vals[i]
			}
		}
		sr.mu.Unlock()
		name := MetricName(m.Namespace, m.MetricName)
		p.help = "CloudWatch metric " + m.Namespace + " " + m.MetricName
		if _, ok := families[name]; !ok {
			names = append(names, name)
		}
		families[name] = append(families[name], p)
	}
	for _, name := range names {
		points := families[name]
		var labelNames []string
		for _, p := range points {
			for l := range p.labels {
				if !slices.Contains(labelNames, l) {
					labelNames = append(labelNames, l)
				}
			}
		}
		slices.Sort(labelNames)
		// All points of a family share one Desc (help from the first).
		desc := prometheus.NewDesc(name, points[0].help+" (unit "+points[0].unit+")", labelNames, nil)
		seen := map[string]bool{}
		for _, p := range points {
			values := make([]string, len(labelNames))
			for i, l := range labelNames {
				values[i] = p.labels[l]
			}
			key := strings.Join(values, "\xff")
			if seen[key] {
				continue
			}
			seen[key] = true
			m, err := prometheus.NewConstSummary(desc, p.count, p.sum, p.quantiles, values...)
			if err != nil {
				m = prometheus.NewInvalidMetric(desc, err)
			}
			ch <- m
		}
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
