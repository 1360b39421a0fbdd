package cloudwatch

// Dynamic labels: the ${...} placeholders of a MetricDataQuery's Label,
// which GetMetricData expands in each result's Label, as CloudWatch's
// "Using dynamic labels" describes them:
//
//   - ${AVG}, ${MAX}, ${MIN}, ${SUM}, ${FIRST} (the oldest value), ${LAST}
//     (the newest), ${DATAPOINT_COUNT}, ${MIN_MAX_RANGE} (MAX - MIN) and
//     ${FIRST_LAST_RANGE} (LAST - FIRST), over the datapoints the query
//     returns across the whole time range (all pages of MaxDatapoints);
//   - ${LABEL}, the label CloudWatch gives the query without one: the
//     metric name of a metric query, the id of an expression, each series'
//     own label for the series of an array (METRICS());
//   - ${PROP('Dim.<name>')}, ${PROP('MetricName')}, ${PROP('Namespace')},
//     ${PROP('Period')} (in seconds), ${PROP('Stat')}, ${PROP('AccountId')}
//     and ${PROP('Region')} (the caller's: metrics belong to the account
//     and region of the request). An expression that yields one series has
//     no metric: its metric properties are empty.
//
// As the documentation says of search expressions, a dynamic label on an
// expression that yields an array of series applies to every series, with
// ${LABEL} standing for the series' own label.
//
// The documentation says neither how numbers are written nor what a
// statistic of no datapoints shows. Dynamic labels are the console's, which
// writes numbers as JavaScript does: the shortest decimal that reads back as
// the same double, with an exponent below 1e-6 and from 1e21 (see
// labelNumber). Without datapoints the statistics are empty and
// ${DATAPOINT_COUNT} is 0. Anything else between ${ and } (the time
// placeholders, which need LabelOptions' time zone and a format the
// documentation does not give, ${PROP('AccountLabel')}, misspellings) is left
// as written.

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// labelScope is what dynamic labels read beyond a series: the caller's
// account and region.
type labelScope struct {
	account, region string
}

// resultLabel is the Label of GetMetricData's result sr of query q: the
// series' label with its dynamic labels expanded and, for the series of an
// array, q's dynamic label applied to each; the query's id when empty.
func (qs *querySet) resultLabel(q MetricDataQuery, sr *series, sc labelScope) string {
	label := expandLabel(sr.label, sr, sr.defaultLabel, sc)
	if qs.values[q.ID].kind == arrayValue && hasPlaceholder(q.Label) {
		label = expandLabel(q.Label, sr, label, sc)
	}
	if label == "" {
		label = q.ID
	}
	return label
}

// expandLabel expands the dynamic labels of tmpl for series s, with
// defaultLabel for ${LABEL}.
func expandLabel(tmpl string, s *series, defaultLabel string, sc labelScope) string {
	if !strings.Contains(tmpl, "${") {
		return tmpl
	}
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		if v, ok := placeholder(rest[i+2:i+j], s, defaultLabel, sc); ok {
			b.WriteString(v)
			rest = rest[i+j+1:]
			continue
		}
		// Not a placeholder: keep "${" and look for one further on.
		b.WriteString("${")
		rest = rest[i+2:]
	}
}

// hasPlaceholder reports whether tmpl holds a dynamic label inferscale
// expands.
func hasPlaceholder(tmpl string) bool {
	rest := tmpl
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			return false
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return false
		}
		if _, ok := placeholder(rest[i+2:i+j], &series{}, "", labelScope{}); ok {
			return true
		}
		rest = rest[i+2:]
	}
}

// placeholder returns the value of the placeholder ${name}, and false when
// name is not one.
func placeholder(name string, s *series, defaultLabel string, sc labelScope) (string, bool) {
	switch name {
	case "LABEL":
		return defaultLabel, true
	case "DATAPOINT_COUNT":
		n := 0
		for _, v := range s.vals {
			if !isMissing(v) {
				n++
			}
		}
		return strconv.Itoa(n), true
	case "AVG":
		return labelNumber(avgOf(s.vals)), true
	case "MAX":
		return labelNumber(maxOf(s.vals)), true
	case "MIN":
		return labelNumber(minOf(s.vals)), true
	case "SUM":
		return labelNumber(sumOf(s.vals)), true
	case "FIRST":
		first, _ := firstLast(s.vals)
		return labelNumber(first), true
	case "LAST":
		_, last := firstLast(s.vals)
		return labelNumber(last), true
	case "MIN_MAX_RANGE":
		return labelNumber(maxOf(s.vals) - minOf(s.vals)), true
	case "FIRST_LAST_RANGE":
		first, last := firstLast(s.vals)
		return labelNumber(last - first), true
	}
	arg, ok := strings.CutPrefix(name, "PROP(")
	if !ok {
		return "", false
	}
	arg, ok = strings.CutSuffix(arg, ")")
	if !ok || len(arg) < 2 || (arg[0] != '\'' && arg[0] != '"') || arg[len(arg)-1] != arg[0] {
		return "", false
	}
	return property(arg[1:len(arg)-1], s, sc)
}

// property returns the value of ${PROP('p')}; metric properties of a series
// without a metric are empty.
func property(p string, s *series, sc labelScope) (string, bool) {
	switch p {
	case "AccountId":
		return sc.account, true
	case "Region":
		return sc.region, true
	case "Period":
		return strconv.FormatInt(int64(s.period/time.Second), 10), true
	}
	var ms MetricStat
	if s.metric != nil {
		ms = *s.metric
	}
	switch p {
	case "MetricName":
		return ms.Metric.MetricName, true
	case "Namespace":
		return ms.Metric.Namespace, true
	case "Stat":
		return ms.Stat, true
	}
	dim, ok := strings.CutPrefix(p, "Dim.")
	if !ok || dim == "" {
		return "", false
	}
	for _, d := range ms.Metric.Dimensions {
		if d.Name == dim {
			return d.Value, true
		}
	}
	return "", true
}

// firstLast returns the oldest and the newest value with data, missing
// when there is none.
func firstLast(vals []float64) (first, last float64) {
	first, last = missing, missing
	for _, v := range vals {
		if isMissing(v) {
			continue
		}
		if isMissing(first) {
			first = v
		}
		last = v
	}
	return first, last
}

// labelNumber writes a statistic as JavaScript's Number.prototype.toString
// does (the console's dynamic labels): the shortest decimal that reads
// back as v, without an exponent from 1e-6 up to 1e21, and with one (1e+21,
// 1.5e-7) outside; a missing statistic (no datapoints) is empty.
func labelNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case isMissing(v):
		return ""
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		return "0" // also -0
	case a >= 1e-6 && a < 1e21:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'e', -1, 64) // 1.5e-07
	mant, exp, _ := strings.Cut(s, "e")
	sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + digits
}
