package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/store"
)

// Controller tests run inside synctest bubbles: time is fake and advances
// when every goroutine waits, so hours of scaling take milliseconds. The
// test plays CloudWatch (testAlarms.evaluate) and hosting (testCapacity).

type sim struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	st     *store.Store
	svc    *Service
	cap    *testCapacity
	alarms *testAlarms
	stop   func()
}

// newSim starts a controller on a fresh store with one variant of n
// instances that take launch to come into service.
func newSim(t *testing.T, n int, launch time.Duration) *sim {
	s := &sim{t: t, ctx: context.Background(), dir: t.TempDir(), cap: newTestCapacity(), alarms: newTestAlarms()}
	s.cap.launch = launch
	s.cap.add(testAccount, testRegion, variantID, n)
	s.st = openStore(t, s.dir)
	t.Cleanup(func() { s.st.Close() })
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

// start runs a new Service (as after a restart) on the same store.
func (s *sim) start() {
	s.svc = &Service{Store: s.st, Capacity: s.cap, Alarms: s.alarms, PollInterval: 10 * time.Second, ActivityTimeout: 20 * time.Minute}
	s.stop = run(s.t, s.svc, nil)
}

func (s *sim) req() *api.Request {
	return &api.Request{Account: testAccount, Region: testRegion, Time: time.Now()}
}

func (s *sim) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *sim) register(min, max int32, susp *suspendedInput) {
	s.t.Helper()
	_, err := s.svc.registerScalableTarget(s.ctx, s.req(), &registerTargetInput{ServiceNamespace: Namespace, ResourceId: variantID,
		ScalableDimension: Dimension, MinCapacity: &min, MaxCapacity: &max, SuspendedState: susp})
	s.must(err)
	synctest.Wait()
}

func (s *sim) suspend(susp suspendedInput) {
	s.t.Helper()
	_, err := s.svc.registerScalableTarget(s.ctx, s.req(), &registerTargetInput{ServiceNamespace: Namespace, ResourceId: variantID,
		ScalableDimension: Dimension, SuspendedState: &susp})
	s.must(err)
	synctest.Wait()
}

func (s *sim) policy(in putPolicyInput) *putPolicyOutput {
	s.t.Helper()
	in.ServiceNamespace, in.ResourceId, in.ScalableDimension = Namespace, variantID, Dimension
	out, err := s.svc.putScalingPolicy(s.ctx, s.req(), &in)
	s.must(err)
	return out
}

func (s *sim) scheduled(in putScheduledInput) {
	s.t.Helper()
	in.ServiceNamespace, in.ResourceId, in.ScalableDimension = Namespace, variantID, Dimension
	_, err := s.svc.putScheduledAction(s.ctx, s.req(), &in)
	s.must(err)
	synctest.Wait()
}

// activities returns the target's activities, oldest first.
func (s *sim) activities(notScaled bool) []ScalingActivity {
	s.t.Helper()
	synctest.Wait()
	var all []ScalingActivity
	in := &describeActivitiesInput{ServiceNamespace: Namespace, ResourceId: variantID, ScalableDimension: Dimension, IncludeNotScaledActivities: notScaled}
	for {
		out, err := s.svc.describeScalingActivities(s.ctx, s.req(), in)
		s.must(err)
		all = append(all, out.ScalingActivities...)
		if out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

// advance steps time by step until d has passed, evaluating alarms at each
// step with value giving the metric of an alarm.
func (s *sim) advance(d, step time.Duration, value func(spec cloudwatch.AlarmSpec, now time.Time) (float64, bool)) {
	s.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		time.Sleep(step)
		synctest.Wait()
		now := time.Now()
		s.alarms.evaluate(s.ctx, s.t, s.svc, now, func(spec cloudwatch.AlarmSpec) (float64, bool) { return value(spec, now) })
	}
	synctest.Wait()
}

// perInstance is InvocationsPerInstance (Sum per minute) for a load in
// invocations per minute spread over the instances in service; no load is
// missing data, as SageMaker publishes nothing without invocations.
func (s *sim) perInstance(load func(time.Time) float64) func(cloudwatch.AlarmSpec, time.Time) (float64, bool) {
	return func(spec cloudwatch.AlarmSpec, now time.Time) (float64, bool) {
		l := load(now)
		_, inService := s.cap.state(testAccount, testRegion, variantID)
		if l <= 0 || inService == 0 {
			return 0, false
		}
		return l / float64(inService), true
	}
}

func (s *sim) desired() int {
	d, _ := s.cap.state(testAccount, testRegion, variantID)
	return d
}

func describe(as []ScalingActivity, t0 time.Time) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "\n  +%v %s %q %q", a.StartTime.Sub(t0), a.StatusCode, a.Description, a.Cause)
		if len(a.NotScaledReasons) > 0 {
			fmt.Fprintf(&b, " %s", a.NotScaledReasons[0].Code)
		}
	}
	return b.String()
}

// Six hours of target tracking with SageMaker's documented policy (target
// 70 invocations per instance, scale-out cooldown 300 s, scale-in cooldown
// 600 s) on instances that take 4 minutes to launch.
func TestTargetTrackingHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, 4*time.Minute)
		t0 := time.Now()
		s.register(1, 10, nil)
		out := s.policy(putPolicyInput{PolicyName: "invocations", PolicyType: PolicyTargetTracking,
			TargetTrackingScalingPolicyConfiguration: &TargetTrackingScalingPolicyConfiguration{TargetValue: 70,
				PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: predefinedInvocations},
				ScaleOutCooldown:              i32(300), ScaleInCooldown: i32(600)}})
		high, low := out.Alarms[0].AlarmName, out.Alarms[1].AlarmName

		load := func(now time.Time) float64 {
			switch m := now.Sub(t0); {
			case m <= time.Hour:
				return 120 // 60 per instance: below 90% of target, but 2 instances are needed
			case m <= 64*time.Minute:
				return 420 // 210 per instance on 2: scale out to 6
			case m <= 3*time.Hour:
				return 700 // more during the cooldown: a larger scale-out goes ahead
			case m <= 4*time.Hour:
				return 140 // scale in to 2
			default:
				return 0 // no traffic: missing data never scales in
			}
		}
		s.advance(6*time.Hour, time.Minute, s.perInstance(load))

		scaled := s.activities(false)
		log := describe(scaled, t0)
		if len(scaled) != 3 {
			t.Fatalf("want 3 scaling activities, got:%s", log)
		}
		out1, out2, in := scaled[0], scaled[1], scaled[2]
		// 3 datapoints above 70: minutes 61, 62, 63.
		if out1.StartTime.Sub(t0) != 63*time.Minute || out1.Description != "Setting desired instance count to 6." ||
			out1.Cause != "monitor alarm "+high+" in state ALARM triggered policy invocations" {
			t.Errorf("first scale-out:%s", log)
		}
		// The load rises at 65 minutes, before the 6 instances are in service
		// (67): on the 2 in service, 350 each wants ceil(2 × 350 / 70) = 10,
		// more than the 6 the cooldown's scale-out set, so it goes ahead and
		// overrides the activity in progress.
		if out2.StartTime.Sub(t0) != 65*time.Minute || out2.Description != "Setting desired instance count to 10." {
			t.Errorf("second scale-out (the larger one during the cooldown):%s", log)
		}
		if out1.StatusCode != StatusOverridden || out1.EndTime == nil || !out1.EndTime.Equal(out2.StartTime.Time) {
			t.Errorf("first scale-out not overridden: %+v", out1)
		}
		// Scale in: below 63 for 15 minutes after 3 h: 140/10 = 14.
		if got := in.StartTime.Sub(t0); got != 3*time.Hour+15*time.Minute || in.Description != "Setting desired instance count to 2." ||
			in.Cause != "monitor alarm "+low+" in state ALARM triggered policy invocations" {
			t.Errorf("scale-in at +%v:%s", got, log)
		}
		for _, a := range []ScalingActivity{out2, in} {
			want := map[string]int{out2.ActivityId: 10, in.ActivityId: 2}[a.ActivityId]
			if a.StatusCode != StatusSuccessful || a.EndTime == nil || a.StatusMessage != successMessage(want) {
				t.Errorf("activity %+v", a)
			}
		}
		// A scale-out ends when the instances are in service (4 minutes,
		// seen at the next 10-second poll).
		if d := out2.EndTime.Sub(out2.StartTime.Time); d < 4*time.Minute || d > 4*time.Minute+10*time.Second {
			t.Errorf("scale-out took %v", d)
		}
		if s.desired() != 2 {
			t.Errorf("final capacity %d, want 2", s.desired())
		}

		// Not-scaled activities: the first hour's low alarm wants ceil(2 ×
		// 60 / 70) = 2, once per breach.
		all := s.activities(true)
		var notScaled []ScalingActivity
		for _, a := range all {
			if len(a.NotScaledReasons) > 0 {
				notScaled = append(notScaled, a)
			}
		}
		if len(notScaled) != 1 || notScaled[0].NotScaledReasons[0].Code != ReasonAlreadyAtDesired ||
			*notScaled[0].NotScaledReasons[0].CurrentCapacity != 2 || notScaled[0].StatusCode != StatusFailed ||
			notScaled[0].Description != "Attempting to scale due to alarm triggered" || notScaled[0].StartTime.Sub(t0) != 15*time.Minute {
			t.Errorf("not-scaled activities:%s", describe(notScaled, t0))
		}
	})
}

// Step scaling triggered by the user's own alarm: the cooldown holds the
// same step, a larger breach goes ahead from the capacity before the
// cooldown's scale-out, and DescribeScalingPolicies lists the alarm.
func TestStepScalingCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, 2*time.Minute)
		t0 := time.Now()
		s.register(1, 20, nil)
		p := s.policy(putPolicyInput{PolicyName: "steps", PolicyType: PolicyStep,
			StepScalingPolicyConfiguration: &StepScalingPolicyConfiguration{AdjustmentType: ChangeInCapacity, Cooldown: i32(300),
				StepAdjustments: []StepAdjustment{
					{MetricIntervalLowerBound: f64(0), MetricIntervalUpperBound: f64(100), ScalingAdjustment: 1},
					{MetricIntervalLowerBound: f64(100), ScalingAdjustment: 3},
				}}})
		threshold := 100.0
		_, err := s.alarms.PutAlarm(s.ctx, testAccount, testRegion, cloudwatch.AlarmSpec{AlarmName: "latency-high",
			Namespace: "AWS/SageMaker", MetricName: "ModelLatency", Statistic: "Average", Period: 60, EvaluationPeriods: 1,
			DatapointsToAlarm: 1, Threshold: &threshold, ComparisonOperator: "GreaterThanThreshold", AlarmActions: []string{p.PolicyARN}})
		s.must(err)
		value := func(_ cloudwatch.AlarmSpec, now time.Time) (float64, bool) {
			if now.Sub(t0) < 17*time.Minute {
				return 150, true // the +1 step, every minute
			}
			return 250, true // the +3 step
		}
		s.advance(25*time.Minute, time.Minute, value)
		// +1 at 1, 6, 11, 16 minutes (cooldown 300 s); at 17 the +3 step is
		// larger than what the cooldown's scale-out added: 5 + 3 = 8; the
		// next +3 after that cooldown, at 22.
		want := "1m0s:3. 6m0s:4. 11m0s:5. 16m0s:6. 17m0s:8. 22m0s:11."
		got := s.activities(false)
		var seq []string
		for _, a := range got {
			seq = append(seq, fmt.Sprintf("%v:%s", a.StartTime.Sub(t0), strings.TrimPrefix(a.Description, "Setting desired instance count to ")))
		}
		if strings.Join(seq, " ") != want {
			t.Errorf("step activities %s, want %s%s", strings.Join(seq, " "), want, describe(got, t0))
		}
		// The +3 at 17 minutes overrode the +1 of 16 minutes, still launching.
		if got[3].StatusCode != StatusOverridden || got[4].StatusCode != StatusSuccessful {
			t.Errorf("statuses:%s", describe(got, t0))
		}
		if got[0].Cause != "monitor alarm latency-high in state ALARM triggered policy steps" {
			t.Errorf("cause %q", got[0].Cause)
		}
		ps, err := s.svc.describeScalingPolicies(s.ctx, s.req(), &describePoliciesInput{ServiceNamespace: Namespace})
		s.must(err)
		if a := ps.ScalingPolicies[0].Alarms; len(a) != 1 || a[0].AlarmName != "latency-high" {
			t.Errorf("step policy alarms %+v", a)
		}
	})
}

// Scheduled actions in New York time, across the start of daylight saving
// time (2000-04-02), with a suspension in between.
func TestScheduledScalingDST(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 1, time.Minute)
		// The bubble's clock starts at 2000-01-01 00:00 UTC.
		time.Sleep(time.Date(2000, 3, 30, 12, 0, 0, 0, time.UTC).Sub(time.Now()))
		s.register(1, 10, nil)
		s.scheduled(putScheduledInput{ScheduledActionName: "morning", Schedule: "cron(0 9 * * ? *)", Timezone: "America/New_York",
			ScalableTargetAction: &ScalableTargetAction{MinCapacity: i32(3), MaxCapacity: i32(10)}})
		s.scheduled(putScheduledInput{ScheduledActionName: "evening", Schedule: "cron(0 18 * * ? *)", Timezone: "America/New_York",
			ScalableTargetAction: &ScalableTargetAction{MinCapacity: i32(1), MaxCapacity: i32(1)}})
		s.scheduled(putScheduledInput{ScheduledActionName: "once", Schedule: "at(2000-04-03T12:00:00)",
			ScalableTargetAction: &ScalableTargetAction{MaxCapacity: i32(4)}})

		// Through 2000-04-03 18:30 New York time. Scheduled scaling is
		// suspended over the morning of April 3 (suspended at 06:00, resumed at
		// 10:00 New York, i.e. 11:00 and 14:00 UTC).
		time.Sleep(time.Date(2000, 4, 3, 11, 0, 0, 0, time.UTC).Sub(time.Now()))
		s.suspend(suspendedInput{ScheduledScalingSuspended: boolp(true)})
		time.Sleep(3 * time.Hour)
		s.suspend(suspendedInput{ScheduledScalingSuspended: boolp(false)})
		time.Sleep(time.Date(2000, 4, 3, 22, 30, 0, 0, time.UTC).Sub(time.Now()))

		var got []string
		for _, a := range s.activities(false) {
			got = append(got, a.StartTime.UTC().Format("01-02T15:04")+" "+a.Description+" ("+a.Cause+")")
		}
		want := []string{
			// Registered at 07:00 New York (EST) on March 30.
			"03-30T14:00 Setting min capacity to 3 and max capacity to 10 (scheduled action name morning was triggered)",
			"03-30T14:00 Setting desired instance count to 3. (minimum capacity was set to 3)",
			"03-30T23:00 Setting min capacity to 1 and max capacity to 1 (scheduled action name evening was triggered)",
			"03-30T23:00 Setting desired instance count to 1. (maximum capacity was set to 1)",
			"03-31T14:00 Setting min capacity to 3 and max capacity to 10 (scheduled action name morning was triggered)",
			"03-31T14:00 Setting desired instance count to 3. (minimum capacity was set to 3)",
			"03-31T23:00 Setting min capacity to 1 and max capacity to 1 (scheduled action name evening was triggered)",
			"03-31T23:00 Setting desired instance count to 1. (maximum capacity was set to 1)",
			"04-01T14:00 Setting min capacity to 3 and max capacity to 10 (scheduled action name morning was triggered)",
			"04-01T14:00 Setting desired instance count to 3. (minimum capacity was set to 3)",
			"04-01T23:00 Setting min capacity to 1 and max capacity to 1 (scheduled action name evening was triggered)",
			"04-01T23:00 Setting desired instance count to 1. (maximum capacity was set to 1)",
			// Daylight saving time: 09:00 and 18:00 New York are an hour earlier in UTC.
			"04-02T13:00 Setting min capacity to 3 and max capacity to 10 (scheduled action name morning was triggered)",
			"04-02T13:00 Setting desired instance count to 3. (minimum capacity was set to 3)",
			"04-02T22:00 Setting min capacity to 1 and max capacity to 1 (scheduled action name evening was triggered)",
			"04-02T22:00 Setting desired instance count to 1. (maximum capacity was set to 1)",
			// April 3: the morning (13:00 UTC) and the at() action (12:00
			// UTC) fell in the suspension and are not run on resume.
			"04-03T22:00 Setting min capacity to 1 and max capacity to 1 (scheduled action name evening was triggered)",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("activities:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, a := range s.activities(false) {
			if a.StatusCode != StatusSuccessful {
				t.Errorf("activity %q is %s", a.Description, a.StatusCode)
			}
			if strings.HasPrefix(a.Description, "Setting min") && a.StatusMessage != "Successfully set "+strings.TrimPrefix(a.Description, "Setting ") {
				t.Errorf("status message %q", a.StatusMessage)
			}
		}
	})
}

// Dynamic scaling suspended: the alarm stays in ALARM and nothing scales;
// on resume the policy in breach scales at the next evaluation.
func TestSuspendDynamicScaling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, time.Minute)
		t0 := time.Now()
		s.register(1, 10, &suspendedInput{DynamicScalingOutSuspended: boolp(true)})
		s.policy(putPolicyInput{PolicyName: "p", PolicyType: PolicyTargetTracking,
			TargetTrackingScalingPolicyConfiguration: &TargetTrackingScalingPolicyConfiguration{TargetValue: 70,
				PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: predefinedInvocations}}})
		busy := s.perInstance(func(time.Time) float64 { return 280 })
		s.advance(10*time.Minute, time.Minute, busy)
		if n := len(s.activities(true)); n != 0 || s.desired() != 2 {
			t.Fatalf("scaled while suspended: %d activities, capacity %d", n, s.desired())
		}
		s.suspend(suspendedInput{DynamicScalingOutSuspended: boolp(false)})
		s.advance(time.Minute, time.Minute, busy)
		as := s.activities(false)
		if len(as) != 1 || as[0].StartTime.Sub(t0) != 11*time.Minute || as[0].Description != "Setting desired instance count to 4." {
			t.Errorf("after resume:%s", describe(as, t0))
		}
	})
}

// The controller's state is in the store: a restarted controller keeps the
// cooldown and follows the activity in progress to its end.
func TestRestartKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, 4*time.Minute)
		t0 := time.Now()
		s.register(1, 20, nil)
		p := s.policy(putPolicyInput{PolicyName: "steps", PolicyType: PolicyStep,
			StepScalingPolicyConfiguration: &StepScalingPolicyConfiguration{AdjustmentType: ChangeInCapacity, Cooldown: i32(600),
				StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 2}}}})
		fire := func() {
			s.must(s.svc.Handle(s.ctx, p.PolicyARN, cloudwatch.AlarmEvent{AlarmName: "mine", State: cloudwatch.StateAlarm,
				Threshold: 10, Datapoints: []float64{20}, Time: time.Now()}))
			synctest.Wait()
		}
		fire() // 2 -> 4
		time.Sleep(time.Minute)
		s.stop()
		if err := s.svc.Handle(s.ctx, p.PolicyARN, cloudwatch.AlarmEvent{AlarmName: "mine", State: cloudwatch.StateAlarm}); !errors.Is(err, errNotRunning) {
			t.Errorf("Handle without Run: %v", err)
		}
		s.start()
		time.Sleep(time.Minute)
		fire() // within the cooldown: held
		time.Sleep(5 * time.Minute)
		as := s.activities(false)
		if len(as) != 1 || as[0].StatusCode != StatusSuccessful || as[0].EndTime.Sub(t0) > 4*time.Minute+10*time.Second {
			t.Fatalf("after restart:%s", describe(as, t0))
		}
		time.Sleep(4 * time.Minute) // past the 600 s cooldown
		fire()                      // 4 -> 6
		if as = s.activities(false); len(as) != 2 || as[1].Description != "Setting desired instance count to 6." {
			t.Errorf("after the cooldown:%s", describe(as, t0))
		}
	})
}

// Failed, Unfulfilled and not-scaled at the maximum.
func TestActivityOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, time.Minute)
		t0 := time.Now()
		s.register(1, 4, nil)
		p := s.policy(putPolicyInput{PolicyName: "steps", PolicyType: PolicyStep,
			StepScalingPolicyConfiguration: &StepScalingPolicyConfiguration{AdjustmentType: ChangeInCapacity, Cooldown: i32(60),
				StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 1}}}})
		handle := func() error {
			defer synctest.Wait()
			return s.svc.Handle(s.ctx, p.PolicyARN, cloudwatch.AlarmEvent{AlarmName: "mine", State: cloudwatch.StateAlarm,
				Threshold: 10, Datapoints: []float64{20}, Time: time.Now()})
		}
		fire := func() { s.must(handle()) }
		s.cap.mu.Lock()
		s.cap.failSet = errors.New("ResourceLimitExceeded: account instance limit")
		s.cap.mu.Unlock()
		if err := handle(); err == nil || !strings.Contains(err.Error(), "ResourceLimitExceeded") {
			t.Errorf("Handle with hosting refusing: %v", err)
		}
		as := s.activities(false)
		if len(as) != 1 || as[0].StatusCode != StatusFailed ||
			as[0].StatusMessage != "Failed to set desired instance count to 3. Reason: ResourceLimitExceeded: account instance limit" || as[0].EndTime == nil {
			t.Fatalf("failed activity:%s %+v", describe(as, t0), as)
		}
		s.cap.mu.Lock()
		s.cap.failSet, s.cap.stuck = nil, true
		s.cap.mu.Unlock()
		time.Sleep(time.Minute)
		fire() // 2 -> 3, never in service
		time.Sleep(21 * time.Minute)
		as = s.activities(false)
		if len(as) != 2 || as[1].StatusCode != StatusUnfulfilled || !strings.Contains(as[1].StatusMessage, "2 instances in service") {
			t.Fatalf("unfulfilled:%s %+v", describe(as, t0), as[len(as)-1])
		}
		s.cap.mu.Lock()
		s.cap.stuck = false
		s.cap.mu.Unlock()
		fire() // 3 -> 4
		for range 3 {
			time.Sleep(time.Minute)
			fire() // at the maximum: one not-scaled activity
		}
		time.Sleep(5 * time.Minute)
		fire() // a new breach: recorded again
		all := s.activities(true)
		var reasons []string
		for _, a := range all {
			for _, r := range a.NotScaledReasons {
				reasons = append(reasons, fmt.Sprintf("%s max %d", r.Code, *r.MaxCapacity))
			}
		}
		if strings.Join(reasons, ",") != "AlreadyAtMaxCapacity max 4,AlreadyAtMaxCapacity max 4" {
			t.Errorf("not-scaled reasons %v:%s", reasons, describe(all, t0))
		}
	})
}

// quotaRefusal is hosting's refusal of a scale-out over the instance quota.
var quotaRefusal = errors.New("The account-level service limit 'ml.c5.large for endpoint usage' is 3 Instances, " +
	"with current utilization of 1 Instances and a request delta of 4 Instances.")

// A scale-out that hosting refuses (the instance quota), to reach a
// minimum capacity and for an alarm that wants the same capacity, is
// recorded once, as a Failed activity naming the cause, and retried with a
// bounded backoff: two hours of the refusal, with the alarm in ALARM every
// minute, leave the history readable; once the quota allows it, the
// retry scales.
func TestRefusedScaleOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 1, time.Minute)
		t0 := time.Now()
		s.register(1, 8, nil)
		out := s.policy(putPolicyInput{PolicyName: "invocations", PolicyType: PolicyTargetTracking,
			TargetTrackingScalingPolicyConfiguration: &TargetTrackingScalingPolicyConfiguration{TargetValue: 70,
				PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: predefinedInvocations}}})
		var handleErrs []error
		s.alarms.mu.Lock()
		s.alarms.handleErrs = &handleErrs
		s.alarms.mu.Unlock()
		s.cap.mu.Lock()
		s.cap.failSet = quotaRefusal
		s.cap.mu.Unlock()
		s.register(5, 8, nil)
		// 300 invocations a minute on 1 instance: the high alarm wants
		// ceil(300 / 70) = 5 instances.
		busy := s.perInstance(func(time.Time) float64 { return 300 })
		s.advance(2*time.Hour, time.Minute, busy)

		as := s.activities(true)
		want := []string{
			"Failed: minimum capacity was set to 5",
			"Failed: monitor alarm " + out.Alarms[0].AlarmName + " in state ALARM triggered policy invocations",
		}
		var got []string
		for _, a := range as {
			got = append(got, a.StatusCode+": "+a.Cause)
			if a.StatusCode == StatusFailed && (a.StatusMessage != "Failed to set desired instance count to 5. Reason: "+quotaRefusal.Error() || a.EndTime == nil) {
				t.Errorf("failed activity: %q, ended %v", a.StatusMessage, a.EndTime)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("after two hours of refusals:\n%s\nwant:\n%s%s", strings.Join(got, "\n"), strings.Join(want, "\n"), describe(as, t0))
		}
		s.cap.mu.Lock()
		refused := s.cap.refused
		s.cap.mu.Unlock()
		// The two scalings (the minimum's and the alarm's) are each
		// retried with a backoff growing to RefusalRetryMax: about a dozen
		// attempts each in two hours, not one a minute. Only the attempts
		// made fail the alarm's action.
		if most := 2 * (5 + int(2*time.Hour/RefusalRetryMax)); refused < 4 || refused > most || len(handleErrs) > refused {
			t.Errorf("%d attempts refused in two hours (%d alarm actions failed), want 4 to %d", refused, len(handleErrs), most)
		}

		// The quota allows it now: a retry within RefusalRetryMax scales.
		s.cap.mu.Lock()
		s.cap.failSet = nil
		s.cap.mu.Unlock()
		s.advance(RefusalRetryMax+time.Minute, time.Minute, busy)
		if d := s.desired(); d != 5 {
			t.Errorf("capacity %d once the quota allows 5", d)
		}
		as = s.activities(false)
		if last := as[len(as)-1]; last.Description != "Setting desired instance count to 5." || last.StatusCode != StatusSuccessful {
			t.Errorf("after the refusals:%s", describe(as, t0))
		}
	})
}

// A minimum the quota refuses is retried with backoff when no alarm wakes
// the target's loop, too.
func TestRefusedMinimumRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 1, time.Minute)
		t0 := time.Now()
		s.cap.mu.Lock()
		s.cap.failSet = quotaRefusal
		s.cap.mu.Unlock()
		s.register(3, 8, nil)
		time.Sleep(3 * time.Hour)
		s.cap.mu.Lock()
		s.cap.failSet = nil
		s.cap.mu.Unlock()
		time.Sleep(RefusalRetryMax)
		as := s.activities(true)
		if d := s.desired(); d != 3 || len(as) != 2 || as[0].StatusCode != StatusFailed || as[1].StatusCode != StatusSuccessful {
			t.Errorf("capacity %d:%s", d, describe(as, t0))
		}
	})
}

// A minimum that a scheduled action raises, refused by hosting, is retried
// as one that RegisterScalableTarget sets is: reached once the quota
// allows it, without an alarm to ask for it.
func TestRefusedScheduledMinimumRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 1, time.Minute)
		t0 := time.Now()
		s.register(1, 8, nil)
		s.cap.mu.Lock()
		s.cap.failSet = quotaRefusal
		s.cap.mu.Unlock()
		s.scheduled(putScheduledInput{ScheduledActionName: "raise", Schedule: "at(" + t0.Add(10*time.Minute).UTC().Format("2006-01-02T15:04:05") + ")",
			ScalableTargetAction: &ScalableTargetAction{MinCapacity: i32(3)}})
		time.Sleep(3 * time.Hour)
		s.cap.mu.Lock()
		s.cap.failSet = nil
		s.cap.mu.Unlock()
		time.Sleep(RefusalRetryMax)
		as := s.activities(true)
		if d := s.desired(); d != 3 || len(as) == 0 || as[len(as)-1].StatusCode != StatusSuccessful {
			t.Errorf("capacity %d:%s", d, describe(as, t0))
		}
	})
}

// Deregistering stops the target's loop; Run returns once every loop has
// stopped.
func TestDeregisterStopsLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, time.Minute)
		s.register(1, 4, nil)
		p := s.policy(putPolicyInput{PolicyName: "steps", PolicyType: PolicyStep,
			StepScalingPolicyConfiguration: &StepScalingPolicyConfiguration{AdjustmentType: ChangeInCapacity,
				StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: f64(0), ScalingAdjustment: 1}}}})
		if s.svc.ctrl.loop(s.svc.targetKey(targetRef{account: testAccount, region: testRegion, resourceID: variantID})) == nil {
			t.Fatal("no loop for a registered target")
		}
		_, err := s.svc.deregisterScalableTarget(s.ctx, s.req(), &targetInput{ServiceNamespace: Namespace, ResourceId: variantID, ScalableDimension: Dimension})
		s.must(err)
		if s.svc.ctrl.loop(s.svc.targetKey(targetRef{account: testAccount, region: testRegion, resourceID: variantID})) != nil {
			t.Error("loop still running after deregistering")
		}
		if err := s.svc.Handle(s.ctx, p.PolicyARN, cloudwatch.AlarmEvent{AlarmName: "a", State: cloudwatch.StateAlarm}); err == nil {
			t.Error("Handle ran a deleted policy")
		}
		if !s.svc.Owns(p.PolicyARN) || s.svc.Owns("arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:x:autoScalingGroupName/g:policyName/p") {
			t.Error("Owns")
		}
	})
}

// Activities are kept six weeks.
func TestPruneActivities(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, time.Minute)
		s.register(1, 4, nil)
		key := s.svc.targetKey(targetRef{account: testAccount, region: testRegion, resourceID: variantID})
		t0 := time.Now()
		for i, age := range []time.Duration{ActivityRetention + time.Second, ActivityRetention - time.Second} {
			_, err := s.svc.newActivity(s.ctx, key, variantID, ScalingActivity{Description: fmt.Sprint(i), Cause: "test",
				StartTime: awstime.Timestamp{Time: t0.Add(-age)}, StatusCode: StatusSuccessful})
			s.must(err)
		}
		s.must(s.svc.pruneActivities(s.ctx, key, t0))
		if as := s.activities(true); len(as) != 1 || as[0].Description != "1" {
			t.Errorf("after pruning:%s", describe(as, t0))
		}
	})
}
