// Package simulate replays a traffic trace against a scalable target's
// policies, so that a user can compare policies before applying one. It
// models a variant whose instances each serve up to the capacity a
// recommendation job measured, publishes the metrics hosting would publish
// into a real metrics store, and decides with the controller's own
// functions: cloudwatch.AlarmDatapoints and EvaluateAlarm for the alarms,
// autoscale.ObserveAlarm and Decide for the policies.
package simulate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/autoscale"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
)

// Tick is the simulation's time step: the resolution of high-resolution
// metrics.
const Tick = 10 * time.Second

// EvaluationDelay is how long after a period ends its alarms are evaluated,
// as in the alarm loop (cloudwatch.DefaultEvaluationDelay).
const EvaluationDelay = cloudwatch.DefaultEvaluationDelay

// Instance is what a recommendation job measured of one instance.
type Instance struct {
	// MaxInvocations is the most invocations per minute one instance serves
	// within the latency threshold (the recommendation's MaxInvocations).
	MaxInvocations float64
	// ModelLatency is the latency at that load.
	ModelLatency time.Duration
	// CPUUtilization is the CPU use at that load, in percent (up to 100 ×
	// vCPUs, as SageMaker reports it).
	CPUUtilization float64
	// SetupTime is the time from launch to serving.
	SetupTime time.Duration
	// CostPerHour is the price of one instance for an hour (the
	// recommendation's CostPerHour over its instance count); 0: unknown.
	CostPerHour float64
}

// Config is one simulation.
type Config struct {
	Trace    Trace
	Variant  autoscale.Variant
	Instance Instance
	// Min, Max and Initial are the target's capacity bounds and its
	// capacity when the trace starts.
	Min, Max, Initial int
	// Policies are the target's scaling policies, as PutScalingPolicy takes
	// them: target tracking and step scaling.
	Policies []autoscale.ScalingPolicy
	// Alarms trigger the step policies: an alarm whose AlarmActions name a
	// policy (by ARN or by name) runs it.
	Alarms []cloudwatch.AlarmSpec
	// Suspended is the target's SuspendedState: suspended dynamic scaling
	// holds the policies' scale-outs or scale-ins, as in the controller.
	Suspended autoscale.SuspendedState
}

// Minute is the state of one minute of the simulation.
type Minute struct {
	Time time.Time
	// Traffic is the invocations of the minute.
	Traffic float64
	// Instances are in service at the end of the minute; Desired is the
	// capacity the target is set to.
	Instances, Desired int
	// Capacity is the invocations per minute the instances in service can
	// take within the latency threshold.
	Capacity float64
	// OverThreshold is true when traffic exceeded capacity at some time in
	// the minute: latency was over the threshold the capacity was measured
	// at.
	OverThreshold bool
}

// Activity is one change of the desired capacity.
type Activity struct {
	Time          time.Time
	From, To      int
	Policy, Alarm string
}

// Result is a simulation's outcome.
type Result struct {
	Start      time.Time
	Minutes    []Minute
	Activities []Activity
	// InstanceHours are the hours of instances launched (setting up or in
	// service), what a bill counts.
	InstanceHours float64
	// Cost is what those hours cost at Instance.CostPerHour; 0 when the
	// price is unknown.
	Cost float64 `json:",omitempty"`
	// MinutesOverThreshold counts the minutes with OverThreshold.
	MinutesOverThreshold int
	// PeakInstances is the highest desired capacity.
	PeakInstances int
	// Warnings say what makes the result doubtful: an alarm whose metric
	// had no datapoint in the whole simulation (the simulation publishes
	// the metrics of Config.Variant only) never fired, and its policy
	// never ran.
	Warnings []string `json:",omitempty"`
}

// Duration is the time the result covers.
func (r *Result) Duration() time.Duration { return time.Duration(len(r.Minutes)) * time.Minute }

// Summary is a one-line account of the result.
func (r *Result) Summary() string {
	cost := ""
	if r.Cost > 0 {
		cost = fmt.Sprintf(" ($%.2f)", r.Cost)
	}
	return fmt.Sprintf("%.1f instance-hours%s, %d of %d minutes over the latency threshold, %d scaling activities, peak %d instances",
		r.InstanceHours, cost, r.MinutesOverThreshold, len(r.Minutes), len(r.Activities), r.PeakInstances)
}

// alarm is an alarm of the simulated target and the policies it runs, in
// the order of its AlarmActions, as CloudWatch runs them.
type alarm struct {
	spec     cloudwatch.AlarmSpec
	policies []*autoscale.ScalingPolicy
	state    string
	period   time.Duration
	// data is true once an evaluation had a datapoint.
	data bool
}

// runsActions reports whether the alarm runs its actions: ActionsEnabled
// false (PutMetricAlarm's, or DisableAlarmActions') stops them.
func (a *alarm) runsActions() bool {
	return a.spec.ActionsEnabled == nil || *a.spec.ActionsEnabled
}

// InvalidError is Run's error for a configuration it cannot simulate: an
// empty trace, capacity bounds that do not hold, a policy or an alarm that
// PutScalingPolicy or PutMetricAlarm would refuse.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Run simulates cfg. A configuration it cannot simulate is an
// *InvalidError.
func Run(cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, &InvalidError{err}
	}
	policies := slices.Clone(cfg.Policies)
	alarms, err := cfg.alarms(policies)
	if err != nil {
		return nil, &InvalidError{err}
	}
	store := metrics.New(metrics.Options{})
	dims := []metrics.Dimension{{Name: "EndpointName", Value: cfg.Variant.Endpoint}, {Name: "VariantName", Value: cfg.Variant.Variant}}

	start := cfg.Trace.Start
	end := start.Add(cfg.Trace.Duration())
	res := &Result{Start: start, PeakInstances: cfg.Initial}
	// ready holds each launched instance's time of entering service.
	ready := make([]time.Time, cfg.Initial)
	for i := range ready {
		ready[i] = start
	}
	desired := cfg.Initial
	var cool autoscale.Cooldowns
	readings := map[string]autoscale.PolicyReadings{}
	perInstance := cfg.Instance.MaxInvocations

	var minute Minute
	for t := start; t.Before(end); t = t.Add(Tick) {
		m := int(t.Sub(start) / time.Minute)
		if t.Sub(start)%time.Minute == 0 {
			minute = Minute{Time: t, Traffic: cfg.Trace.PerMinute[m]}
		}
		serving := 0
		for _, r := range ready {
			if !r.After(t) {
				serving++
			}
		}
		res.InstanceHours += float64(len(ready)) * Tick.Hours()
		perMinute := cfg.Trace.PerMinute[m]
		traffic := perMinute * Tick.Seconds() / 60
		capacity := float64(serving) * perInstance
		if perMinute > capacity {
			minute.OverThreshold = true
		}
		if err := cfg.publish(store, dims, t, traffic, serving); err != nil {
			return nil, err
		}

		// Alarms whose period ends with this tick are evaluated, and their
		// actions run, EvaluationDelay later (before the next tick).
		periodEnd := t.Add(Tick)
		now := periodEnd.Add(EvaluationDelay)
		for _, a := range alarms {
			if periodEnd.Sub(time.Unix(0, 0))%a.period != 0 {
				continue
			}
			dps, err := cloudwatch.AlarmDatapoints(store.In(metrics.Scope{}), &a.spec, periodEnd)
			if err != nil {
				return nil, fmt.Errorf("simulate: alarm %s: %w", a.spec.AlarmName, err)
			}
			a.data = a.data || len(dps) > 0
			ev := cloudwatch.EvaluateAlarm(cloudwatch.EvaluationInput{Spec: a.spec, State: a.state, Period: a.period, End: periodEnd, Datapoints: dps, Now: now})
			if !ev.Retained {
				a.state = ev.State
			}
			// The policies' alarms have ALARM actions only: the controller
			// hears of an alarm while it is in ALARM, once per period, and
			// not at all while its actions are disabled.
			if a.state != cloudwatch.StateAlarm || !a.runsActions() {
				continue
			}
			values := make([]float64, len(ev.Datapoints))
			for i, dp := range ev.Datapoints {
				values[i] = dp.Value
			}
			cwEvent := cloudwatch.AlarmEvent{AlarmName: a.spec.AlarmName, State: a.state, Datapoints: values, Time: now}
			if a.spec.Threshold != nil {
				cwEvent.Threshold = *a.spec.Threshold
			}
			// Each policy the alarm names runs, one after the other.
			for _, policy := range a.policies {
				readings = autoscale.ObserveAlarm(readings, *policy, cwEvent, now)
				states := make([]autoscale.PolicyState, len(policies))
				for i, p := range policies {
					states[i] = autoscale.PolicyStateOf(p, readings[p.PolicyName])
				}
				dec := autoscale.Decide(now,
					autoscale.Capacities{Min: cfg.Min, Max: cfg.Max, Desired: desired, Actual: serving},
					cfg.Suspended, cool, states,
					autoscale.AlarmEvent{Policy: policy.PolicyName, Alarm: a.spec.AlarmName, State: a.state, Threshold: cwEvent.Threshold, Datapoints: values})
				if !dec.Scale {
					continue
				}
				res.Activities = append(res.Activities, Activity{Time: now, From: desired, To: dec.Desired, Policy: dec.Policy, Alarm: dec.Alarm})
				cool = dec.Cooldowns
				ready = resize(ready, dec.Desired, now.Add(cfg.Instance.SetupTime))
				desired = dec.Desired
				res.PeakInstances = max(res.PeakInstances, desired)
			}
		}

		if periodEnd.Sub(start)%time.Minute == 0 {
			minute.Instances, minute.Desired = serving, desired
			minute.Capacity = float64(serving) * perInstance
			if minute.OverThreshold {
				res.MinutesOverThreshold++
			}
			res.Minutes = append(res.Minutes, minute)
		}
	}
	for _, a := range alarms {
		if !a.data {
			res.Warnings = append(res.Warnings, fmt.Sprintf("alarm %s had no datapoint in the whole simulation, so policy %s never ran: "+
				"the simulation publishes AWS/SageMaker Invocations, InvocationsPerInstance and ConcurrentRequestsPerModel and "+
				"/aws/sagemaker/Endpoints CPUUtilization with the dimensions EndpointName=%s and VariantName=%s, while traffic is served",
				a.spec.AlarmName, a.policyNames(), cfg.Variant.Endpoint, cfg.Variant.Variant))
		}
	}
	res.Cost = res.InstanceHours * cfg.Instance.CostPerHour
	return res, nil
}

// policyNames lists the names of the policies the alarm runs.
func (a *alarm) policyNames() string {
	names := make([]string, len(a.policies))
	for i, p := range a.policies {
		names[i] = p.PolicyName
	}
	return strings.Join(names, ", ")
}

// resize launches instances that enter service at readyAt, or stops the
// newest ones (those still setting up first).
func resize(ready []time.Time, n int, readyAt time.Time) []time.Time {
	for len(ready) < n {
		ready = append(ready, readyAt)
	}
	if len(ready) > n {
		slices.SortFunc(ready, func(a, b time.Time) int { return a.Compare(b) })
		ready = ready[:n]
	}
	return ready
}

// publish puts one tick's metrics, as hosting publishes them: per request
// AWS/SageMaker Invocations and InvocationsPerInstance (1 / instances in
// service each), per instance and 10 s ConcurrentRequestsPerModel and
// /aws/sagemaker/Endpoints CPUUtilization.
func (cfg *Config) publish(store *metrics.Store, dims []metrics.Dimension, t time.Time, traffic float64, serving int) error {
	if serving == 0 {
		return nil // no instance: nothing to measure on
	}
	if traffic > 0 {
		per := 1 / float64(serving)
		if err := store.PutStatistics("AWS/SageMaker", "Invocations", dims,
			metrics.StatisticSet{SampleCount: traffic, Sum: traffic, Minimum: 1, Maximum: 1}, "Count", t); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		if err := store.PutStatistics("AWS/SageMaker", "InvocationsPerInstance", dims,
			metrics.StatisticSet{SampleCount: traffic, Sum: traffic * per, Minimum: per, Maximum: per}, "Count", t); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	// Load of one instance relative to what it serves within the latency
	// threshold. Up to 1 a request takes ModelLatency, the latency the
	// recommendation measured at that load (no more below it); past 1
	// requests queue, and latency grows with the overload.
	rho := traffic / Tick.Seconds() * 60 / float64(serving) / cfg.Instance.MaxInvocations
	latency := cfg.Instance.ModelLatency.Seconds() * math.Max(1, rho)
	concurrency := traffic / Tick.Seconds() / float64(serving) * latency // Little's law
	cpu := math.Min(cfg.Instance.CPUUtilization*rho, cfg.Instance.CPUUtilization/0.9)
	for range serving {
		if err := store.Put("AWS/SageMaker", "ConcurrentRequestsPerModel", dims, concurrency, "None", t); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		if err := store.Put("/aws/sagemaker/Endpoints", "CPUUtilization", dims, cpu, "Percent", t); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	return nil
}

func (cfg *Config) validate() error {
	switch {
	case len(cfg.Trace.PerMinute) == 0:
		return errors.New("simulate: the trace is empty")
	case cfg.Min < 0 || cfg.Max < cfg.Min || cfg.Max < 1:
		return fmt.Errorf("simulate: capacity bounds %d..%d: need 0 <= min <= max and max >= 1", cfg.Min, cfg.Max)
	case cfg.Initial < cfg.Min || cfg.Initial > cfg.Max:
		return fmt.Errorf("simulate: initial capacity %d is outside %d..%d", cfg.Initial, cfg.Min, cfg.Max)
	case !(cfg.Instance.MaxInvocations > 0):
		return errors.New("simulate: the capacity per instance (MaxInvocations) must be > 0")
	case len(cfg.Policies) == 0:
		return errors.New("simulate: no scaling policy")
	}
	return nil
}

// alarms returns the alarms of the simulation: each target-tracking
// policy's two, as PutScalingPolicy creates them, and the given alarms
// that run a step policy. It sets the policies' ARNs and Alarms.
func (cfg *Config) alarms(policies []autoscale.ScalingPolicy) ([]*alarm, error) {
	var out []*alarm
	resource := cfg.Variant.ResourceID()
	for i := range policies {
		p := &policies[i]
		if p.PolicyARN == "" {
			p.PolicyARN = fmt.Sprintf("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:00000000-0000-0000-0000-%012d:resource/sagemaker/%s:policyName/%s", i, resource, p.PolicyName)
		}
		if p.PolicyType != autoscale.PolicyTargetTracking && p.PolicyType != autoscale.PolicyStep {
			return nil, fmt.Errorf("simulate: policy %s: type %q is not simulated (TargetTrackingScaling or StepScaling)", p.PolicyName, p.PolicyType)
		}
		// As PutScalingPolicy would: a policy it refuses would otherwise
		// decide as something else, or never.
		if err := autoscale.ValidatePolicy(*p, cfg.Variant); err != nil {
			return nil, fmt.Errorf("simulate: policy %s: %w", p.PolicyName, err)
		}
		if p.PolicyType != autoscale.PolicyTargetTracking {
			continue // step policies run from cfg.Alarms
		}
		tt := p.TargetTrackingScalingPolicyConfiguration
		m, err := autoscale.PolicyMetric(tt, cfg.Variant)
		if err != nil {
			return nil, fmt.Errorf("simulate: policy %s: %w", p.PolicyName, err)
		}
		p.Alarms = nil
		for _, high := range []bool{true, false} {
			if !high && tt.DisableScaleIn != nil && *tt.DisableScaleIn {
				continue
			}
			name := autoscale.AlarmName(resource, high, fmt.Sprintf("simulated-%d", i))
			spec := autoscale.TargetTrackingAlarm(name, p.PolicyARN, high, tt.TargetValue, m)
			p.Alarms = append(p.Alarms, autoscale.Alarm{AlarmName: name})
			out = append(out, &alarm{spec: spec, policies: []*autoscale.ScalingPolicy{p}, state: cloudwatch.StateInsufficientData, period: spec.DatapointPeriod()})
		}
	}
	for _, spec := range cfg.Alarms {
		// AlarmActions name step policies by ARN or, in a file, by name;
		// each one named runs, in order. Other actions (SNS topics, say)
		// change nothing here.
		var runs []*autoscale.ScalingPolicy
		actions := make([]string, len(spec.AlarmActions))
		for i, action := range spec.AlarmActions {
			actions[i] = action
			for j := range policies {
				p := &policies[j]
				if p.PolicyType == autoscale.PolicyStep && (action == p.PolicyARN || action == p.PolicyName) {
					runs = append(runs, p)
					actions[i] = p.PolicyARN
					break
				}
			}
		}
		if len(runs) == 0 {
			return nil, fmt.Errorf("simulate: alarm %s runs none of the step policies (AlarmActions %v)", spec.AlarmName, spec.AlarmActions)
		}
		spec.AlarmActions = actions
		// The alarm must be one PutMetricAlarm takes: a missing threshold
		// or a misspelt operator would otherwise never (or always) fire.
		if err := cloudwatch.CheckAlarm(&spec, ""); err != nil {
			return nil, fmt.Errorf("simulate: alarm %s: %w", spec.AlarmName, err)
		}
		p := spec.DatapointPeriod()
		if p < Tick || p%Tick != 0 {
			return nil, fmt.Errorf("simulate: alarm %s: period %v is not a multiple of %v", spec.AlarmName, p, Tick)
		}
		out = append(out, &alarm{spec: spec, policies: runs, state: cloudwatch.StateInsufficientData, period: p})
	}
	for _, p := range policies {
		if p.PolicyType == autoscale.PolicyStep && !slices.ContainsFunc(out, func(a *alarm) bool {
			return slices.ContainsFunc(a.policies, func(q *autoscale.ScalingPolicy) bool { return q.PolicyName == p.PolicyName })
		}) {
			return nil, fmt.Errorf("simulate: step policy %s has no alarm: give one whose AlarmActions name it", p.PolicyName)
		}
	}
	return out, nil
}
