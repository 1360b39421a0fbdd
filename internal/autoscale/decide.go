package autoscale

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// This file holds every scaling rule as a pure function: no clock, no
// store, no I/O. The controller and `inferscale simulate` call them with
// the state they keep.

// Default cooldowns for SageMaker endpoint variants, in seconds (AWS: "If not
// specified, the default value is 300" for SageMaker variants).
const DefaultCooldown = 300

// ScaleInThreshold is the fraction of the target value below which a
// target-tracking policy's low alarm fires (AWS: "about 90% of target").
const ScaleInThreshold = 0.9

// Direction is which way a decision scales.
type Direction int8

// Directions.
const (
	Hold Direction = iota
	Out
	In
)

func (d Direction) String() string {
	switch d {
	case Out:
		return "out"
	case In:
		return "in"
	}
	return "hold"
}

// Clamp returns n within [min, max]. Scaling policies never take capacity
// outside a target's Min and Max (AWS: "Application Auto Scaling scaling
// policies will not scale capacity to values that are outside of the
// minimum and maximum range").
func Clamp(n, min, max int) int {
	return maxInt(min, minInt(n, max))
}

// TargetTrackingCapacity is the capacity a target-tracking policy wants:
// ceil(current × metric / target). current is the capacity the metric was
// measured on; the result rounds up, so that the metric ends at or below
// the target. A tiny tolerance keeps floating-point noise (3 × 0.7 / 0.7 =
// 3.0000000000000004) from adding an instance.
func TargetTrackingCapacity(current int, metric, target float64) int {
	if target <= 0 || math.IsNaN(metric) || math.IsInf(metric, 0) {
		return current
	}
	x := float64(current) * metric / target
	if x <= 0 {
		return 0
	}
	return int(math.Ceil(x - 1e-9*math.Max(1, x)))
}

// AggregateMetric aggregates the datapoints a step scaling policy's alarm
// evaluated, as MetricAggregationType says: Average (the default), Minimum
// or Maximum. ok is false without datapoints.
func AggregateMetric(aggregation string, datapoints []float64) (v float64, ok bool) {
	if len(datapoints) == 0 {
		return 0, false
	}
	switch aggregation {
	case "Minimum":
		return slices.Min(datapoints), true
	case "Maximum":
		return slices.Max(datapoints), true
	}
	var sum float64
	for _, d := range datapoints {
		sum += d
	}
	return sum / float64(len(datapoints)), true
}

// SelectStep returns the step adjustment whose interval holds value, the
// bounds being relative to the alarm threshold. AWS's rule: when the metric
// is at or above the threshold, the lower bound is inclusive and the upper
// bound exclusive; below it, the lower bound is exclusive and the upper
// inclusive. A nil bound is infinite.
func SelectStep(steps []StepAdjustment, threshold, value float64) (StepAdjustment, bool) {
	diff := value - threshold
	above := value >= threshold
	for _, s := range steps {
		lower, upper := math.Inf(-1), math.Inf(1)
		if s.MetricIntervalLowerBound != nil {
			lower = *s.MetricIntervalLowerBound
		}
		if s.MetricIntervalUpperBound != nil {
			upper = *s.MetricIntervalUpperBound
		}
		if above && lower <= diff && diff < upper || !above && lower < diff && diff <= upper {
			return s, true
		}
	}
	return StepAdjustment{}, false
}

// StepAtThreshold returns the step adjustment an alarm action without
// datapoints runs: the one whose interval starts at the threshold (lower
// bound 0), or else ends there (upper bound 0). An alarm set to ALARM by
// SetAlarmState carries no datapoints unless its StateReasonData has
// recentDatapoints, and AWS still runs the policy (the usual way to test
// one): it runs as if the metric had just crossed the threshold.
func StepAtThreshold(steps []StepAdjustment) (StepAdjustment, bool) {
	for _, bound := range []func(StepAdjustment) *float64{
		func(s StepAdjustment) *float64 { return s.MetricIntervalLowerBound },
		func(s StepAdjustment) *float64 { return s.MetricIntervalUpperBound },
	} {
		for _, s := range steps {
			if b := bound(s); b != nil && *b == 0 {
				return s, true
			}
		}
	}
	return StepAdjustment{}, false
}

// ApplyAdjustment returns the capacity a step adjustment asks for, from
// current:
//
//   - ChangeInCapacity adds the adjustment;
//   - ExactCapacity is the adjustment;
//   - PercentChangeInCapacity adds that percentage of current, rounded as
//     AWS rounds it: toward zero when its magnitude is above 1, to ±1 when
//     it is between 0 and 1; then, if MinAdjustmentMagnitude is set, by at
//     least that many (AWS's example: 25% of 4 with a minimum magnitude of
//     2 adds 2).
func ApplyAdjustment(adjustmentType string, current int, adjustment, minMagnitude int32) int {
	switch adjustmentType {
	case ExactCapacity:
		return int(adjustment)
	case PercentChangeInCapacity:
		delta := float64(current) * float64(adjustment) / 100
		d := int(delta) // toward zero
		sign := 1
		if delta < 0 {
			sign = -1
		}
		if d == 0 && delta != 0 {
			d = sign
		}
		if adjustment != 0 && minMagnitude > 0 && absInt(d) < int(minMagnitude) {
			d = sign * int(minMagnitude)
		}
		return current + d
	default: // ChangeInCapacity
		return current + int(adjustment)
	}
}

// ValidateStepAdjustments checks a step scaling policy's adjustments
// against AWS's rules: at least one step; the upper bound above the lower;
// not both bounds null in one step; at most one null lower bound and at
// most one null upper bound; a negative lower bound needs a step with a null
// lower bound and a positive upper bound one with a null upper bound; no
// overlaps or gaps; ExactCapacity adjustments not negative.
func ValidateStepAdjustments(adjustmentType string, steps []StepAdjustment) error {
	if len(steps) == 0 {
		return fmt.Errorf("At least one step adjustment is required for a step scaling policy.")
	}
	var nilLower, nilUpper int
	var negLower, posUpper bool
	for _, s := range steps {
		l, u := s.MetricIntervalLowerBound, s.MetricIntervalUpperBound
		if l == nil && u == nil {
			return fmt.Errorf("The upper and lower bound of a step adjustment cannot both be null.")
		}
		if l != nil && u != nil && *u <= *l {
			return fmt.Errorf("The upper bound of a step adjustment (%g) must be greater than its lower bound (%g).", *u, *l)
		}
		if l == nil {
			nilLower++
		} else if *l < 0 {
			negLower = true
		}
		if u == nil {
			nilUpper++
		} else if *u > 0 {
			posUpper = true
		}
		if adjustmentType == ExactCapacity && s.ScalingAdjustment < 0 {
			return fmt.Errorf("The scaling adjustment of an ExactCapacity step adjustment cannot be negative (%d).", s.ScalingAdjustment)
		}
	}
	switch {
	case nilLower > 1:
		return fmt.Errorf("At most one step adjustment can have a null lower bound.")
	case nilUpper > 1:
		return fmt.Errorf("At most one step adjustment can have a null upper bound.")
	case negLower && nilLower == 0:
		return fmt.Errorf("A step adjustment has a negative lower bound, so one step adjustment must have a null lower bound.")
	case posUpper && nilUpper == 0:
		return fmt.Errorf("A step adjustment has a positive upper bound, so one step adjustment must have a null upper bound.")
	}
	sorted := slices.Clone(steps)
	lowerOf := func(s StepAdjustment) float64 {
		if s.MetricIntervalLowerBound == nil {
			return math.Inf(-1)
		}
		return *s.MetricIntervalLowerBound
	}
	upperOf := func(s StepAdjustment) float64 {
		if s.MetricIntervalUpperBound == nil {
			return math.Inf(1)
		}
		return *s.MetricIntervalUpperBound
	}
	slices.SortFunc(sorted, func(a, b StepAdjustment) int { return cmp.Compare(lowerOf(a), lowerOf(b)) })
	for i := 1; i < len(sorted); i++ {
		prev, cur := upperOf(sorted[i-1]), lowerOf(sorted[i])
		switch {
		case prev > cur:
			return fmt.Errorf("Step adjustments cannot overlap: [%s] and [%s].", stepRange(sorted[i-1]), stepRange(sorted[i]))
		case prev < cur:
			return fmt.Errorf("Step adjustments cannot have gaps: nothing covers %g to %g.", prev, cur)
		}
	}
	return nil
}

func stepRange(s StepAdjustment) string {
	l, u := "-infinity", "+infinity"
	if s.MetricIntervalLowerBound != nil {
		l = fmt.Sprint(*s.MetricIntervalLowerBound)
	}
	if s.MetricIntervalUpperBound != nil {
		u = fmt.Sprint(*s.MetricIntervalUpperBound)
	}
	return l + ", " + u
}

// Capacities is what a decision knows about the target's capacity.
type Capacities struct {
	// Min and Max are the target's bounds.
	Min, Max int
	// Desired is the capacity the resource is set to; Actual the capacity in
	// service, on which the metrics were measured (0 when unknown).
	Desired, Actual int
}

// measured is the capacity the metrics were measured on: the capacity in
// service when known, the desired capacity otherwise.
func (c Capacities) measured() int {
	if c.Actual > 0 {
		return c.Actual
	}
	return c.Desired
}

// Cooldowns is a target's cooldown state.
type Cooldowns struct {
	// ScaleOutUntil ends the scale-out cooldown; ScaleOutBase is the
	// capacity before the scale-out that started it: during the cooldown the
	// capacity that scale-out added counts as already there, so step
	// policies compute from ScaleOutBase and only a larger scale-out goes
	// ahead.
	ScaleOutUntil time.Time `json:"ScaleOutUntil,omitzero"`
	ScaleOutBase  int       `json:"ScaleOutBase,omitempty"`
	// ScaleInUntil ends the scale-in cooldown, during which no policy scales
	// in. A scale-out ends it.
	ScaleInUntil time.Time `json:"ScaleInUntil,omitzero"`
}

// InScaleOut reports whether a scale-out cooldown is in effect at now.
func (c Cooldowns) InScaleOut(now time.Time) bool { return now.Before(c.ScaleOutUntil) }

// InScaleIn reports whether a scale-in cooldown is in effect at now.
func (c Cooldowns) InScaleIn(now time.Time) bool { return now.Before(c.ScaleInUntil) }

// AfterScale returns the cooldown state after a scaling activity that
// started at now in direction dir with a cooldown of d, from capacity
// before. AWS's rules: a scale-out starts a scale-out cooldown and ends a
// scale-in cooldown in effect; a scale-out that goes ahead during a
// scale-out cooldown keeps counting from the capacity before the scale-out
// that started it; a scale-in starts a scale-in cooldown.
func (c Cooldowns) AfterScale(now time.Time, dir Direction, d time.Duration, before int) Cooldowns {
	switch dir {
	case Out:
		if !c.InScaleOut(now) {
			c.ScaleOutBase = before
		}
		c.ScaleOutUntil = now.Add(d)
		if c.InScaleIn(now) {
			c.ScaleInUntil = now
		}
	case In:
		c.ScaleInUntil = now.Add(d)
	}
	return c
}

// AlarmReading is the last evaluation of a policy's alarm that the
// controller received.
type AlarmReading struct {
	Alarm string    `json:"Alarm,omitempty"`
	State string    `json:"State,omitempty"`
	Value float64   `json:"Value,omitempty"`
	Has   bool      `json:"Has,omitempty"` // Value holds a datapoint
	Time  time.Time `json:"Time,omitzero"`
	// Period is the alarm's period: CloudWatch re-runs the actions of an
	// alarm in ALARM once per period, so a reading older than a few periods
	// means the alarm left ALARM.
	Period time.Duration `json:"Period,omitempty"`
}

// Breaching reports whether the alarm is in ALARM at now, with a value: its
// last reading said ALARM and is recent (within two periods and 30
// seconds, since CloudWatch re-invokes the action every period).
func (r AlarmReading) Breaching(now time.Time) bool {
	p := r.Period
	if p <= 0 {
		p = time.Minute
	}
	return r.State == "ALARM" && r.Has && !r.Time.IsZero() && now.Sub(r.Time) <= 2*p+30*time.Second
}

// PolicyState is a policy as decisions see it: its configuration and, for
// target tracking, the last readings of its two alarms.
type PolicyState struct {
	Name           string
	Type           string
	TargetTracking *TargetTrackingScalingPolicyConfiguration
	Step           *StepScalingPolicyConfiguration
	High, Low      AlarmReading
}

// scaleInEnabled reports whether a target-tracking policy may scale in.
func (p PolicyState) scaleInEnabled() bool {
	return p.Type == PolicyTargetTracking && p.TargetTracking != nil &&
		(p.TargetTracking.DisableScaleIn == nil || !*p.TargetTracking.DisableScaleIn)
}

// Cooldown returns the policy's cooldown for a direction: ScaleOutCooldown
// or ScaleInCooldown for target tracking, Cooldown for step scaling, 300
// seconds when not set.
func (p PolicyState) Cooldown(dir Direction) time.Duration {
	var v *int32
	switch {
	case p.TargetTracking != nil && dir == Out:
		v = p.TargetTracking.ScaleOutCooldown
	case p.TargetTracking != nil:
		v = p.TargetTracking.ScaleInCooldown
	case p.Step != nil:
		v = p.Step.Cooldown
	}
	if v == nil {
		return DefaultCooldown * time.Second
	}
	return time.Duration(*v) * time.Second
}

// trackingCapacity is what a target-tracking policy wants given a reading:
// TargetTrackingCapacity on the capacity the metric was measured on. During
// a scale-out cooldown a scale-out computes from the capacity before the
// cooldown's scale-out: the capacity it added counts as already there
// (AWS), and the metric still reflects the old capacity while instances
// launch, so only a larger scale-out goes ahead.
func (p PolicyState) trackingCapacity(now time.Time, c Capacities, cool Cooldowns, r AlarmReading, dir Direction) int {
	base := c.measured()
	if dir == Out && cool.InScaleOut(now) {
		base = cool.ScaleOutBase
	}
	if dir == Out && base < 1 {
		base = 1 // no capacity to measure on: the metric is for one
	}
	return TargetTrackingCapacity(base, r.Value, p.TargetTracking.TargetValue)
}

// AlarmEvent is an alarm action a policy received: the alarm, its state,
// its threshold and the datapoints it evaluated (newest last).
type AlarmEvent struct {
	Policy     string
	Alarm      string
	State      string
	Threshold  float64
	Datapoints []float64
}

// Decision is what a policy's alarm action leads to.
type Decision struct {
	// Direction is the way the policy asked to scale (Hold when it did not
	// apply).
	Direction Direction
	// Scale is true when the capacity changes to Desired.
	Scale   bool
	Desired int
	// NotScaled holds AWS's reasons when the policy asked to scale and the
	// capacity stays (a "not scaled activity").
	NotScaled []NotScaledReason
	// Policy and Alarm are whose proposal won: the activity's cause.
	Policy, Alarm string
	// Cooldowns is the cooldown state after the decision.
	Cooldowns Cooldowns
	// Why explains a Hold, for logs.
	Why string
}

// proposal is one policy's wish.
type proposal struct {
	policy, alarm string
	capacity      int
	cooldown      time.Duration
}

// Decide returns what an alarm action for one of a target's policies does.
// policies are all the target's policies, with the readings of their
// target-tracking alarms already updated with ev. The rules, AWS's:
//
//   - A target-tracking policy whose high alarm is in ALARM wants
//     ceil(capacity × metric / target) (TargetTrackingCapacity) on the
//     capacity the metric was measured on: the capacity in service, or
//     during a scale-out cooldown the capacity before the scale-out that
//     started it. Its low alarm (below 90% of the
//     target for 15 of 15 minutes) wants the same, lower, capacity, unless
//     DisableScaleIn. Missing data never scales in.
//   - A step policy aggregates the evaluated datapoints
//     (MetricAggregationType), picks the step whose bounds, relative to the
//     alarm threshold, hold the value (without datapoints, as after
//     SetAlarmState, the step at the threshold: StepAtThreshold), and
//     applies the adjustment to the
//     desired capacity (during a scale-out cooldown, to the capacity before
//     the scale-out that started it).
//   - Several policies: scale out if any policy says out, the largest
//     capacity wins; target tracking scales in only when every
//     target-tracking policy with scale-in enabled says in (again the
//     largest capacity wins) and none says out; a step scale-in is not held
//     back by target tracking, but by a policy that says out.
//   - Suspension: DynamicScalingOutSuspended / DynamicScalingInSuspended
//     stop policy scale-outs / scale-ins.
//   - Cooldowns: a scale-in waits for the scale-in cooldown to end; during
//     a scale-out cooldown only a larger scale-out goes ahead (the capacity
//     added counts as there); a scale-out during a scale-in cooldown goes
//     ahead and ends it.
//   - The result is clamped to [Min, Max]; when that leaves the capacity
//     where it is, the decision is a not-scaled one with AWS's reason
//     (AlreadyAtMaxCapacity, AlreadyAtMinCapacity, AlreadyAtDesiredCapacity).
func Decide(now time.Time, c Capacities, suspended SuspendedState, cool Cooldowns, policies []PolicyState, ev AlarmEvent) Decision {
	hold := func(why string) Decision { return Decision{Cooldowns: cool, Why: why} }
	if ev.State != "ALARM" {
		return hold("alarm " + ev.Alarm + " is " + ev.State)
	}
	i := slices.IndexFunc(policies, func(p PolicyState) bool { return p.Name == ev.Policy })
	if i < 0 {
		return hold("policy " + ev.Policy + " is not on the target")
	}
	p := policies[i]

	// Target-tracking policies' high alarms in ALARM: they all want out.
	var outs []proposal
	for _, q := range policies {
		if q.Type == PolicyTargetTracking && q.TargetTracking != nil && q.High.Breaching(now) {
			outs = append(outs, proposal{q.Name, q.High.Alarm, q.trackingCapacity(now, c, cool, q.High, Out), q.Cooldown(Out)})
		}
	}

	var dir Direction
	var props []proposal
	switch p.Type {
	case PolicyTargetTracking:
		if p.TargetTracking == nil {
			return hold("policy " + p.Name + " has no target tracking configuration")
		}
		switch ev.Alarm {
		case p.High.Alarm:
			dir, props = Out, outs
		case p.Low.Alarm:
			if !p.scaleInEnabled() {
				return hold("scale-in is disabled on policy " + p.Name)
			}
			if len(ev.Datapoints) == 0 || !p.Low.Breaching(now) {
				return hold("missing data never scales in")
			}
			if len(outs) > 0 {
				return hold("policy " + outs[0].policy + " wants to scale out")
			}
			dir = In
			for _, q := range policies {
				if !q.scaleInEnabled() {
					continue
				}
				if !q.Low.Breaching(now) {
					return hold("policy " + q.Name + " is not ready to scale in")
				}
				props = append(props, proposal{q.Name, q.Low.Alarm, q.trackingCapacity(now, c, cool, q.Low, In), q.Cooldown(In)})
			}
		default:
			return hold("alarm " + ev.Alarm + " is not one of policy " + p.Name + "'s alarms")
		}
	case PolicyStep:
		if p.Step == nil {
			return hold("policy " + p.Name + " has no step scaling configuration")
		}
		var step StepAdjustment
		if v, ok := AggregateMetric(p.Step.MetricAggregationType, ev.Datapoints); ok {
			if step, ok = SelectStep(p.Step.StepAdjustments, ev.Threshold, v); !ok {
				return hold(fmt.Sprintf("no step adjustment holds %g (threshold %g)", v, ev.Threshold))
			}
		} else if step, ok = StepAtThreshold(p.Step.StepAdjustments); !ok {
			return hold("no datapoints, and no step adjustment starts at the threshold")
		}
		var minMag int32
		if p.Step.MinAdjustmentMagnitude != nil {
			minMag = *p.Step.MinAdjustmentMagnitude
		}
		want := ApplyAdjustment(p.Step.AdjustmentType, c.Desired, step.ScalingAdjustment, minMag)
		// Relative adjustments scale the way their sign says; an exact
		// capacity the way it lies from the desired capacity.
		sign := int(step.ScalingAdjustment)
		if p.Step.AdjustmentType == ExactCapacity {
			sign = want - c.Desired
		}
		switch {
		case sign > 0:
			dir = Out
			if cool.InScaleOut(now) && p.Step.AdjustmentType != ExactCapacity {
				// The capacity the cooldown's scale-out added counts.
				want = ApplyAdjustment(p.Step.AdjustmentType, cool.ScaleOutBase, step.ScalingAdjustment, minMag)
			}
		case sign < 0:
			dir = In
			if len(outs) > 0 {
				return hold("policy " + outs[0].policy + " wants to scale out")
			}
		default:
			return Decision{Direction: Hold, Cooldowns: cool, Policy: p.Name, Alarm: ev.Alarm,
				NotScaled: []NotScaledReason{{Code: ReasonAlreadyAtDesired, CurrentCapacity: int32p(c.Desired)}}}
		}
		props = append(props, proposal{p.Name, ev.Alarm, want, p.Cooldown(dir)})
		if dir == Out {
			props = append(props, outs...)
		}
	default:
		return hold("policy " + p.Name + " is a " + p.Type + " policy")
	}
	if len(props) == 0 {
		return hold("no policy wants to scale")
	}

	switch {
	case dir == Out && suspended.DynamicScalingOutSuspended:
		return hold("dynamic scale-out is suspended")
	case dir == In && suspended.DynamicScalingInSuspended:
		return hold("dynamic scale-in is suspended")
	case dir == In && cool.InScaleIn(now):
		return hold("scale-in cooldown until " + cool.ScaleInUntil.UTC().Format(time.RFC3339))
	}

	// The largest capacity wins, in both directions.
	win := props[0]
	for _, q := range props[1:] {
		if q.capacity > win.capacity {
			win = q
		}
	}
	d := Decision{Direction: dir, Policy: win.policy, Alarm: win.alarm, Cooldowns: cool}
	want := Clamp(win.capacity, c.Min, c.Max)
	switch dir {
	case Out:
		if want > c.Desired {
			d.Scale, d.Desired = true, want
		} else if c.Desired >= c.Max && win.capacity > c.Desired {
			d.NotScaled = []NotScaledReason{{Code: ReasonAlreadyAtMax, MaxCapacity: int32p(c.Max)}}
		} else {
			d.Why = fmt.Sprintf("capacity %d is enough (policy %s wants %d)", c.Desired, win.policy, win.capacity)
			d.Direction = Hold
		}
	case In:
		switch {
		case want < c.Desired:
			d.Scale, d.Desired = true, want
		case c.Desired <= c.Min && win.capacity < c.Desired:
			d.NotScaled = []NotScaledReason{{Code: ReasonAlreadyAtMin, MinCapacity: int32p(c.Min)}}
		default:
			d.NotScaled = []NotScaledReason{{Code: ReasonAlreadyAtDesired, CurrentCapacity: int32p(c.Desired)}}
		}
	}
	if d.Scale {
		d.Cooldowns = cool.AfterScale(now, dir, win.cooldown, c.Desired)
	}
	return d
}

// EnforceBounds returns the capacity a target's Min and Max require of
// desired, and the cause AWS gives for changing it ("minimum capacity was
// set to 2", "maximum capacity was set to 8"). changed is false when
// desired is within bounds. AWS applies this when RegisterScalableTarget or
// a scheduled action sets the bounds.
func EnforceBounds(desired, min, max int) (capacity int, cause string, changed bool) {
	switch {
	case desired < min:
		return min, fmt.Sprintf("minimum capacity was set to %d", min), true
	case desired > max:
		return max, fmt.Sprintf("maximum capacity was set to %d", max), true
	}
	return desired, "", false
}

// BreachGap tells one breach of an alarm from the next: CloudWatch re-runs
// the actions of an alarm in ALARM every period, so an alarm whose action
// has not run for longer has left ALARM in between. The same not-scaled
// outcome, or the same refused scaling, is recorded once per breach.
const BreachGap = 3 * time.Minute

// Backoff of a refused scaling: RefusalRetryMin after the first refusal,
// doubling with each refusal in a row, at most RefusalRetryMax.
const (
	RefusalRetryMin = time.Minute
	RefusalRetryMax = 15 * time.Minute
)

// Refusal is hosting's refusal of a scaling (over the instance quota, say:
// ResourceLimitExceeded). AWS's Application Auto Scaling does not record
// the same failure again on every alarm action or evaluation: the
// refusal is recorded once, as a Failed activity, and the scaling is
// retried with a bounded backoff, until hosting takes it.
type Refusal struct {
	// Desired is the capacity refused, Reason why (the Failed activity's
	// Reason), Out whether it was a scale-out.
	Desired int    `json:"Desired"`
	Reason  string `json:"Reason"`
	Out     bool   `json:"Out,omitempty"`
	// Attempts counts the refusals in a row; Retry is when the next
	// attempt may be made.
	Attempts int       `json:"Attempts"`
	Retry    time.Time `json:"Retry"`
	// Asked is when the scaling was last wanted, attempted or held back.
	Asked time.Time `json:"Asked"`
}

// RefusalBackoff is how long to wait after the n-th refusal in a row
// (n ≥ 1) before trying again.
func RefusalBackoff(n int) time.Duration {
	d := RefusalRetryMin
	for i := 1; i < n && d < RefusalRetryMax; i++ {
		d *= 2
	}
	return min(d, RefusalRetryMax)
}

// Refused returns the refusal after hosting refused, at now, to set a
// capacity of desired to n for reason, prev being the refusal that stood
// (nil: none); news says whether it is to be recorded as a Failed
// activity: the first refusal, or one of another capacity or for another
// reason. The same refusal again is not news; it backs off further.
func Refused(prev *Refusal, desired, n int, reason string, now time.Time) (next Refusal, news bool) {
	next = Refusal{Desired: n, Reason: reason, Out: n > desired, Attempts: 1, Asked: now}
	if prev != nil && prev.Desired == n && prev.Reason == reason {
		next.Attempts = prev.Attempts + 1
	}
	next.Retry = now.Add(RefusalBackoff(next.Attempts))
	return next, next.Attempts == 1
}

// HoldsBack reports whether refusal r (nil: none) holds back, at now, a
// scaling from desired to n: one the same way as the refused scaling
// waits for its retry time. (A scale-in is not held back by a refused
// scale-out, nor the other way round.)
func (r *Refusal) HoldsBack(now time.Time, desired, n int) bool {
	return r != nil && now.Before(r.Retry) && (n > desired) == r.Out
}

// ApplyScalableTargetAction returns the bounds a scheduled action sets. A
// scheduled action may set one bound or both; when it sets one past the
// other, the other follows (a new minimum above the maximum raises the
// maximum, and the other way round). description is the activity's
// Description ("Setting min capacity to 5 and max capacity to 10").
func ApplyScalableTargetAction(min, max int, a ScalableTargetAction) (newMin, newMax int, description string) {
	newMin, newMax = min, max
	switch {
	case a.MinCapacity != nil && a.MaxCapacity != nil:
		newMin, newMax = int(*a.MinCapacity), int(*a.MaxCapacity)
		description = fmt.Sprintf("Setting min capacity to %d and max capacity to %d", newMin, newMax)
	case a.MinCapacity != nil:
		newMin = int(*a.MinCapacity)
		newMax = maxInt(newMax, newMin)
		description = fmt.Sprintf("Setting min capacity to %d", newMin)
	case a.MaxCapacity != nil:
		newMax = int(*a.MaxCapacity)
		newMin = minInt(newMin, newMax)
		description = fmt.Sprintf("Setting max capacity to %d", newMax)
	}
	return newMin, newMax, description
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func absInt(a int) int {
	if a < 0 {
		return -a
	}
	return a
}
