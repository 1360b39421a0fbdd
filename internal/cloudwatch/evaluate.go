package cloudwatch

import (
	"cmp"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/metrics"
)

// Comparison operators an alarm can use. The anomaly-detection band
// operators (LessThanLowerOrGreaterThanUpperThreshold, ...) are not
// supported: PutMetricAlarm refuses them.
const (
	GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          = "GreaterThanThreshold"
	LessThanThreshold             = "LessThanThreshold"
	LessThanOrEqualToThreshold    = "LessThanOrEqualToThreshold"
)

// TreatMissingData values.
const (
	TreatMissing      = "missing"
	TreatBreaching    = "breaching"
	TreatNotBreaching = "notBreaching"
	TreatIgnore       = "ignore"
)

// EvaluationRangeExtra is how many periods beyond EvaluationPeriods an
// evaluation looks back. CloudWatch retrieves "a higher number of data
// points than the number specified as Evaluation Periods" (its examples
// show 5 for 3) so that an alarm with a few missing datapoints can still be
// decided by real ones from farther back.
const EvaluationRangeExtra = 2

// AlarmDatapoint is the value of an alarm's metric (or expression) in one
// period.
type AlarmDatapoint struct {
	// Timestamp is the start of the period.
	Timestamp time.Time
	Value     float64
	// SampleCount is the number of samples behind Value; 0 when unknown
	// (metric math).
	SampleCount float64
}

// EvaluationInput is everything an alarm evaluation depends on.
type EvaluationInput struct {
	Spec AlarmSpec
	// State is the alarm's current state.
	State string
	// Period is the length of a datapoint's period.
	Period time.Duration
	// End is the end of the newest complete period. The evaluation range is
	// the EvaluationPeriods+EvaluationRangeExtra periods before it; a
	// period still filling is never evaluated.
	End time.Time
	// Datapoints are the periods of the range that have data, in any
	// order; others are ignored.
	Datapoints []AlarmDatapoint
	// Now is when the evaluation runs (the reason data's queryDate).
	Now time.Time
}

// Evaluation is the outcome of an alarm evaluation.
type Evaluation struct {
	// State is the state the data puts the alarm in: StateOK, StateAlarm or
	// StateInsufficientData.
	State string
	// Retained is true when the data decides nothing and the alarm keeps
	// its current state (TreatMissingData ignore, or too few samples for a
	// percentile with EvaluateLowSampleCountPercentile ignore). State is
	// then the current state and Reason is empty.
	Retained bool
	// Reason and ReasonData explain State in CloudWatch's words and JSON.
	Reason     string
	ReasonData string
	// Datapoints are the real datapoints evaluated, oldest first.
	Datapoints []AlarmDatapoint
}

// EvaluateAlarm decides an alarm's state from the datapoints of its
// evaluation range, with CloudWatch's rules:
//
//   - With at least EvaluationPeriods (N) real datapoints in the range, the
//     N most recent are evaluated and missing ones do not matter: ALARM if
//     DatapointsToAlarm (M) of them breach, OK otherwise.
//   - With none, TreatMissingData decides: missing → INSUFFICIENT_DATA,
//     breaching → ALARM, notBreaching → OK, ignore → unchanged.
//   - With fewer than N, every real datapoint counts and missing ones are
//     used as few times as possible (N minus the real ones):
//     breaching/notBreaching fill them as breaching or not; missing
//     evaluates the real ones alone, except that the alarm goes to ALARM
//     when the oldest breaching datapoint is at least M periods old and
//     every newer one is breaching or missing (CloudWatch's rule against
//     staying OK on intermittent data); ignore decides only when the real
//     datapoints do (M breaching → ALARM, none breaching → OK) and keeps the
//     state otherwise.
//
// Percentile alarms with EvaluateLowSampleCountPercentile "ignore" keep
// their state when an evaluated datapoint has fewer samples than
// 10/(1-percentile). EvaluateAlarm is pure: it reads no clock and no store.
func EvaluateAlarm(in EvaluationInput) Evaluation {
	spec := &in.Spec
	n := int(spec.EvaluationPeriods)
	if n < 1 {
		n = 1
	}
	m := int(spec.DatapointsToAlarm)
	if m < 1 || m > n {
		m = n
	}
	rangeLen := n + EvaluationRangeExtra
	start := in.End.Add(-time.Duration(rangeLen) * in.Period)

	// slots[i] is the datapoint of period i of the range, oldest first.
	slots := make([]*AlarmDatapoint, rangeLen)
	for i := range in.Datapoints {
		dp := &in.Datapoints[i]
		if dp.Timestamp.Before(start) || !dp.Timestamp.Before(in.End) || math.IsNaN(dp.Value) {
			continue
		}
		slots[int(dp.Timestamp.Sub(start)/in.Period)] = dp
	}
	var real []AlarmDatapoint
	for _, dp := range slots {
		if dp != nil {
			real = append(real, *dp)
		}
	}
	if len(real) > n {
		real = real[len(real)-n:]
	}
	ev := evaluation{in: &in, n: n, m: m, start: start, real: real}
	threshold := 0.0
	if spec.Threshold != nil {
		threshold = *spec.Threshold
	}
	for _, dp := range real {
		if breaches(dp.Value, spec.ComparisonOperator, threshold) {
			ev.breaching++
		}
	}

	if lowSampleCount(spec, real) {
		return Evaluation{State: in.State, Retained: true, Datapoints: real}
	}
	treat := spec.TreatMissingData
	if treat == "" {
		treat = TreatMissing
	}
	switch {
	case len(real) >= n:
		return ev.decide(ev.breaching >= m, 0, "")
	case len(real) == 0:
		switch treat {
		case TreatBreaching:
			return ev.decide(true, n, "Breaching")
		case TreatNotBreaching:
			return ev.decide(false, n, "NonBreaching")
		case TreatIgnore:
			return Evaluation{State: in.State, Retained: true}
		}
		return ev.insufficient()
	}
	fill := n - len(real)
	switch treat {
	case TreatBreaching:
		return ev.decide(ev.breaching+fill >= m, fill, "Breaching")
	case TreatNotBreaching:
		return ev.decide(ev.breaching >= m, fill, "NonBreaching")
	case TreatIgnore:
		switch {
		case ev.breaching >= m:
			return ev.decide(true, 0, "")
		case ev.breaching == 0:
			return ev.decide(false, 0, "")
		}
		return Evaluation{State: in.State, Retained: true, Datapoints: real}
	}
	return ev.decide(ev.breaching >= m || prematureAlarm(slots, m, spec.ComparisonOperator, threshold), 0, "")
}

// prematureAlarm is CloudWatch's rule for intermittent data treated as
// missing: ALARM when the oldest breaching datapoint of the range is at
// least m periods old and every newer period is breaching or missing.
func prematureAlarm(slots []*AlarmDatapoint, m int, op string, threshold float64) bool {
	oldest := -1
	for i, dp := range slots {
		if dp != nil && breaches(dp.Value, op, threshold) {
			oldest = i
			break
		}
	}
	if oldest < 0 || len(slots)-oldest < m {
		return false
	}
	for _, dp := range slots[oldest+1:] {
		if dp != nil && !breaches(dp.Value, op, threshold) {
			return false
		}
	}
	return true
}

// breaches compares a value with the threshold.
func breaches(v float64, op string, threshold float64) bool {
	switch op {
	case GreaterThanOrEqualToThreshold:
		return v >= threshold
	case GreaterThanThreshold:
		return v > threshold
	case LessThanThreshold:
		return v < threshold
	case LessThanOrEqualToThreshold:
		return v <= threshold
	}
	return false
}

// lowSampleCount reports whether a percentile alarm that ignores low sample
// counts has an evaluated datapoint with too few samples to be significant.
func lowSampleCount(spec *AlarmSpec, real []AlarmDatapoint) bool {
	if spec.EvaluateLowSampleCountPercentile != "ignore" || spec.ExtendedStatistic == "" {
		return false
	}
	p, err := metrics.ParsePercentile(spec.ExtendedStatistic)
	if err != nil || p >= 1 {
		return false
	}
	need := 10 / (1 - p)
	for _, dp := range real {
		if dp.SampleCount > 0 && dp.SampleCount < need {
			return true
		}
	}
	return false
}

// evaluation builds the outcome of one evaluation.
type evaluation struct {
	in        *EvaluationInput
	n, m      int
	start     time.Time
	real      []AlarmDatapoint
	breaching int
}

// decide returns ALARM or OK with CloudWatch's "Threshold Crossed" reason;
// filled missing datapoints treated as fillAs ("Breaching" or
// "NonBreaching") are mentioned.
func (e *evaluation) decide(alarm bool, filled int, fillAs string) Evaluation {
	spec := &e.in.Spec
	state := StateOK
	if alarm {
		state = StateAlarm
	}
	// The datapoints the reason lists: the breaching ones for ALARM, the
	// others for OK, newest first.
	var listed []AlarmDatapoint
	threshold := 0.0
	if spec.Threshold != nil {
		threshold = *spec.Threshold
	}
	for i := len(e.real) - 1; i >= 0; i-- {
		if breaches(e.real[i].Value, spec.ComparisonOperator, threshold) == alarm {
			listed = append(listed, e.real[i])
		}
	}
	reason := e.reason(alarm, listed, len(listed), filled, fillAs, threshold)
	// StateReason holds at most 1023 characters: list fewer datapoints.
	for k := min(len(listed)-1, 40); len(reason) > maxStateReason && k > 0; k-- {
		reason = e.reason(alarm, listed, k, filled, fillAs, threshold)
	}
	return e.outcome(state, reason)
}

// maxStateReason and maxStateReasonData are the lengths of StateReason and
// StateReasonData in the model.
const (
	maxStateReason     = 1023
	maxStateReasonData = 4000
)

// reason words a decision, listing the first show datapoints of listed.
func (e *evaluation) reason(alarm bool, listed []AlarmDatapoint, show, filled int, fillAs string, threshold float64) string {
	spec := &e.in.Spec
	cmp := comparisonWords[spec.ComparisonOperator]
	if !alarm {
		cmp = "not " + cmp
	}
	list := listDatapoints(listed[:show])
	if show < len(listed) {
		list = list[:len(list)-1] + ", ...]"
	}
	var b strings.Builder
	b.WriteString("Threshold Crossed: ")
	switch {
	case len(e.real) == 0:
		b.WriteString("no datapoints were received for " + plural(filled, "period", "periods"))
		b.WriteString(" and " + plural(filled, "missing datapoint was", "missing datapoints were") + " treated as [" + fillAs + "].")
		return b.String()
	case len(listed) == 0:
		// Only filled missing datapoints crossed the threshold.
		b.WriteString("no datapoints were " + cmp + " the threshold (" + formatJava(threshold) + ")")
	case e.m < e.n:
		b.WriteString(strconv.Itoa(len(listed)) + " out of the last " + strconv.Itoa(len(e.real)+filled) + " datapoints ")
		b.WriteString(list + " were " + cmp + " the threshold (" + formatJava(threshold) + ")")
	default:
		verb := " were "
		if len(listed) == 1 {
			verb = " was "
		}
		b.WriteString(plural(len(listed), "datapoint", "datapoints") + " " + list + verb + cmp + " the threshold (" + formatJava(threshold) + ")")
	}
	if filled > 0 {
		b.WriteString(" and " + plural(filled, "missing datapoint was", "missing datapoints were") + " treated as [" + fillAs + "]")
	}
	if e.m < e.n {
		need, to := e.m, StateAlarm
		if !alarm {
			need, to = e.n-e.m+1, StateOK
		}
		from := e.in.State
		if from == "" || from == to {
			from = map[bool]string{true: StateOK, false: StateAlarm}[alarm]
		}
		b.WriteString(" (minimum " + plural(need, "datapoint", "datapoints") + " for " + from + " -> " + to + " transition)")
	}
	b.WriteString(".")
	return b.String()
}

func (e *evaluation) insufficient() Evaluation {
	return e.outcome(StateInsufficientData, "Insufficient Data: "+plural(e.n, "datapoint was", "datapoints were")+" unknown.")
}

func (e *evaluation) outcome(state, reason string) Evaluation {
	return Evaluation{State: state, Reason: reason, ReasonData: e.reasonData(), Datapoints: e.real}
}

var comparisonWords = map[string]string{
	GreaterThanOrEqualToThreshold: "greater than or equal to",
	GreaterThanThreshold:          "greater than",
	LessThanThreshold:             "less than",
	LessThanOrEqualToThreshold:    "less than or equal to",
}

// plural is "1 datapoint" or "3 datapoints".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// listDatapoints formats datapoints as CloudWatch's reasons do:
// [82.4 (10/01/19 15:08:00), 79.2 (10/01/19 15:07:00)].
func listDatapoints(dps []AlarmDatapoint) string {
	parts := make([]string, len(dps))
	for i, dp := range dps {
		parts[i] = formatJava(dp.Value) + " (" + dp.Timestamp.UTC().Format("02/01/06 15:04:05") + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// reasonTime is the timestamp format of StateReasonData.
const reasonTime = "2006-01-02T15:04:05.000-0700"

// reasonData is the StateReasonData JSON CloudWatch attaches to a state
// change: the query, the statistic and period, the threshold, the recent
// values (oldest first) and the evaluated datapoints (newest first).
// Numbers are written as Java writes doubles (70.0), as CloudWatch does.
func (e *evaluation) reasonData() string {
	data := e.reasonDataOf(e.real)
	// At most maxStateReasonData characters: keep the newest datapoints.
	for k := len(e.real) / 2; len(data) > maxStateReasonData; k /= 2 {
		data = e.reasonDataOf(e.real[len(e.real)-k:])
	}
	return data
}

// reasonDataOf is the reason data listing the datapoints real.
func (e *evaluation) reasonDataOf(real []AlarmDatapoint) string {
	spec := &e.in.Spec
	var b strings.Builder
	b.WriteString(`{"version":"1.0","queryDate":"` + e.in.Now.UTC().Format(reasonTime) + `"`)
	start := e.start
	if len(real) > 0 {
		start = real[0].Timestamp
	}
	b.WriteString(`,"startDate":"` + start.UTC().Format(reasonTime) + `"`)
	if st := cmp.Or(spec.Statistic, spec.ExtendedStatistic); st != "" {
		b.WriteString(`,"statistic":` + strconv.Quote(st))
	}
	if spec.Unit != "" {
		b.WriteString(`,"unit":` + strconv.Quote(spec.Unit))
	}
	b.WriteString(`,"period":` + strconv.FormatInt(int64(e.in.Period/time.Second), 10))
	b.WriteString(`,"recentDatapoints":[`)
	for i, dp := range real {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(formatJava(dp.Value))
	}
	b.WriteString("]")
	if spec.Threshold != nil {
		b.WriteString(`,"threshold":` + formatJava(*spec.Threshold))
	}
	if len(real) > 0 {
		b.WriteString(`,"evaluatedDatapoints":[`)
		for i := len(real) - 1; i >= 0; i-- {
			dp := real[i]
			if i < len(real)-1 {
				b.WriteByte(',')
			}
			b.WriteString(`{"timestamp":"` + dp.Timestamp.UTC().Format(reasonTime) + `"`)
			if dp.SampleCount > 0 {
				b.WriteString(`,"sampleCount":` + formatJava(dp.SampleCount))
			}
			b.WriteString(`,"value":` + formatJava(dp.Value) + `}`)
		}
		b.WriteString("]")
	}
	b.WriteString("}")
	return b.String()
}

// formatJava formats a double as Java's Double.toString does, which is how
// CloudWatch writes numbers in reasons: 70.0, 0.5, 1.0E7, 1.0E-4.
func formatJava(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	a := math.Abs(v)
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'E', -1, 64) // 1.5E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
