package autoscale

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/cloudwatch"
)

// dyingAlarms is CloudWatch's alarms for a server that is killed in the
// middle of a request: after the call that die selects has done its work,
// the request's goroutine ends (runtime.Goexit), running only its defers,
// as the process would have stopped there.
type dyingAlarms struct {
	Alarms
	die func(op, name string) bool
}

func (a *dyingAlarms) PutAlarm(ctx context.Context, account, region string, spec cloudwatch.AlarmSpec) (string, error) {
	arn, err := a.Alarms.PutAlarm(ctx, account, region, spec)
	if err == nil && a.die("put", spec.AlarmName) {
		runtime.Goexit()
	}
	return arn, err
}

func (a *dyingAlarms) DeleteAlarms(ctx context.Context, account, region string, names ...string) error {
	err := a.Alarms.DeleteAlarms(ctx, account, region, names...)
	if err == nil && a.die("delete", strings.Join(names, ",")) {
		runtime.Goexit()
	}
	return err
}

// dieDuring runs a PutScalingPolicy on svc that dies as alarms says.
func dieDuring(t *testing.T, svc *Service, in putPolicyInput) {
	t.Helper()
	in.ServiceNamespace, in.ResourceId, in.ScalableDimension = Namespace, variantID, Dimension
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := svc.putScalingPolicy(context.Background(), &api.Request{Account: testAccount, Region: testRegion, Time: time.Now()}, &in)
		t.Errorf("PutScalingPolicy %s returned (%v): it should have died", in.PolicyName, err)
	})
	wg.Wait()
}

// A server killed during PutScalingPolicy, between creating a
// target-tracking policy's alarms and storing the policy, or between
// storing a policy and deleting the alarms it no longer needs, leaves
// alarms that no policy names; they would go on being evaluated and
// calling the policy's ARN. The next server removes them when it starts,
// and leaves every other alarm alone. Deregistering a target removes those
// of its resource as well.
func TestLeftoverAlarmsRemoved(t *testing.T) {
	e := newCWEnv(t)
	e.register(t, variantID, 1, 4)
	kept, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("kept"))
	if err != nil {
		t.Fatal(err)
	}
	switched, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("switched"))
	if err != nil {
		t.Fatal(err)
	}
	// A user's alarm whose name looks like a target-tracking one, calling
	// something else.
	if _, err := e.cwClient.PutMetricAlarm(e.ctx, &cw.PutMetricAlarmInput{
		AlarmName: aws.String(AlarmName(variantID, true, "mine")), Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("Invocations"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{"arn:aws:sns:us-west-2:123456789012:topic"},
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{AlarmName(variantID, true, "mine")}
	for _, a := range kept.Alarms {
		want = append(want, aws.ToString(a.AlarmName))
	}

	// Killed after creating the alarms of a new policy.
	e.svc.Alarms = &dyingAlarms{Alarms: e.cw, die: func(op, name string) bool { return op == "put" && !isHighAlarm(name) }}
	dieDuring(t, e.svc, putPolicyInput{PolicyName: "lost", PolicyType: PolicyTargetTracking,
		TargetTrackingScalingPolicyConfiguration: &TargetTrackingScalingPolicyConfiguration{TargetValue: 50,
			PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantInvocationsPerInstance"}}})
	// Killed after storing a policy that no longer needs its alarms, before
	// deleting them.
	e.svc.Alarms = &dyingAlarms{Alarms: e.cw, die: func(op, name string) bool { return op == "delete" }}
	dieDuring(t, e.svc, putPolicyInput{PolicyName: "switched", PolicyType: PolicyStep,
		StepScalingPolicyConfiguration: &StepScalingPolicyConfiguration{AdjustmentType: "ChangeInCapacity",
			StepAdjustments: []StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: 1}}}})

	alarmNames := func() []string {
		t.Helper()
		out, err := e.cwClient.DescribeAlarms(e.ctx, &cw.DescribeAlarmsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range out.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
		slices.Sort(names)
		return names
	}
	if n := len(alarmNames()); n != len(want)+2+len(switched.Alarms)-1 {
		t.Fatalf("%d alarms before the restart: %v", n, alarmNames())
	}

	// The server starts again on the same store (its API is called
	// directly from here on).
	e.svc = &Service{Store: e.svc.Store, Capacity: e.cap, Alarms: e.cw, Metrics: e.metrics, PollInterval: 5 * time.Millisecond}
	stop := run(t, e.svc, nil)
	defer stop()
	slices.Sort(want)
	for deadline := time.Now().Add(5 * time.Second); !slices.Equal(alarmNames(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("alarms after the restart: %v, want %v", alarmNames(), want)
		}
	}
	ps, err := e.svc.policiesOf(e.ctx, targetRef{account: testAccount, region: testRegion, resourceID: variantID})
	if err != nil || len(ps) != 2 || ps[0].PolicyName != "kept" || ps[1].PolicyName != "switched" || ps[1].PolicyType != PolicyStep {
		t.Errorf("policies after the restart: %+v, %v", ps, err)
	}

	// Deregistering removes the target's target-tracking alarms, also one
	// no policy names.
	e.svc.Alarms = &dyingAlarms{Alarms: e.cw, die: func(op, name string) bool { return op == "put" }}
	dieDuring(t, e.svc, putPolicyInput{PolicyName: "lost-again", PolicyType: PolicyTargetTracking,
		TargetTrackingScalingPolicyConfiguration: &TargetTrackingScalingPolicyConfiguration{TargetValue: 50,
			PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantInvocationsPerInstance"}}})
	e.svc.Alarms = e.cw
	if _, err := e.svc.deregisterScalableTarget(e.ctx, &api.Request{Account: testAccount, Region: testRegion, Time: time.Now()},
		&targetInput{ServiceNamespace: Namespace, ResourceId: variantID, ScalableDimension: Dimension}); err != nil {
		t.Fatal(err)
	}
	if got := alarmNames(); !slices.Equal(got, []string{AlarmName(variantID, true, "mine")}) {
		t.Errorf("alarms after deregistering: %v", got)
	}
}

// cancellingAlarms cancels the request once the alarm that cancelAt
// selects is put, as a client that hangs up does.
type cancellingAlarms struct {
	Alarms
	cancel   context.CancelFunc
	cancelAt func(name string) bool
}

func (a *cancellingAlarms) PutAlarm(ctx context.Context, account, region string, spec cloudwatch.AlarmSpec) (string, error) {
	arn, err := a.Alarms.PutAlarm(ctx, account, region, spec)
	if err == nil && a.cancelAt(spec.AlarmName) {
		a.cancel()
	}
	return arn, err
}

// A PutScalingPolicy whose policy cannot be stored (here, its request is
// cancelled after the alarms were created) removes the alarms it created.
func TestPolicyNotStoredLeavesNoAlarms(t *testing.T) {
	e := newCWEnv(t)
	e.register(t, variantID, 1, 4)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	e.svc.Alarms = &cancellingAlarms{Alarms: e.cw, cancel: cancel, cancelAt: func(name string) bool { return !isHighAlarm(name) }}
	_, err := e.svc.putScalingPolicy(ctx, &api.Request{Account: testAccount, Region: testRegion, Time: time.Now()}, &putPolicyInput{
		PolicyName: "cancelled", ServiceNamespace: Namespace, ResourceId: variantID, ScalableDimension: Dimension, PolicyType: PolicyTargetTracking,
		TargetTrackingScalingPolicyConfiguration: &TargetTrackingScalingPolicyConfiguration{TargetValue: 50,
			PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: "SageMakerVariantInvocationsPerInstance"}}})
	if err == nil {
		t.Fatal("PutScalingPolicy succeeded with its request cancelled")
	}
	out, err := e.cwClient.DescribeAlarms(e.ctx, &cw.DescribeAlarmsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 0 {
		t.Errorf("%d alarms left by a policy that was not stored: %s", len(out.MetricAlarms), aws.ToString(out.MetricAlarms[0].AlarmName))
	}
}

// A server killed in the middle of a scaling leaves its activity Pending
// (recorded, the capacity maybe not set) or InProgress without its loop
// following it (the capacity set, the target not yet updated): the next
// server ends them, Failed with why, and keeps following the activity the
// target has in progress.
func TestInterruptedActivitiesEnd(t *testing.T) {
	e := newCWEnv(t)
	e.register(t, variantID, 1, 4)
	t0 := time.Now().Add(-time.Minute).UTC()
	key := e.svc.targetKey(targetRef{account: testAccount, region: testRegion, resourceID: variantID})
	activity := func(status string) string {
		t.Helper()
		a, err := e.svc.newActivity(e.ctx, key, variantID, ScalingActivity{Description: describeSetCapacity(2), Cause: "test",
			StartTime: awstime.Timestamp{Time: t0}, StatusCode: status})
		if err != nil {
			t.Fatal(err)
		}
		return a.ActivityId
	}
	pending, inProgress, followed := activity(StatusPending), activity(StatusInProgress), activity(StatusInProgress)
	if _, err := e.svc.mutateTarget(e.ctx, key, func(d *targetDoc) error {
		d.State.Active = &ActiveActivity{ID: followed, Desired: 3, Start: t0}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.cap.stuck = true // the followed activity stays in progress
	if err := e.cap.SetCapacity(e.ctx, testAccount, testRegion, variantID, 3); err != nil {
		t.Fatal(err)
	}

	e.svc = &Service{Store: e.svc.Store, Capacity: e.cap, Alarms: e.cw, Metrics: e.metrics, PollInterval: 5 * time.Millisecond}
	stop := run(t, e.svc, nil)
	defer stop()
	statuses := func() map[string]ScalingActivity {
		t.Helper()
		out, err := e.svc.describeScalingActivities(e.ctx, &api.Request{Account: testAccount, Region: testRegion},
			&describeActivitiesInput{ServiceNamespace: Namespace, ResourceId: variantID, ScalableDimension: Dimension})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]ScalingActivity{}
		for _, a := range out.ScalingActivities {
			m[a.ActivityId] = a
		}
		return m
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := statuses()
		if got[pending].StatusCode == StatusFailed && got[inProgress].StatusCode == StatusFailed {
			for _, id := range []string{pending, inProgress} {
				if got[id].EndTime == nil || got[id].StatusMessage != interruptedMessage {
					t.Errorf("interrupted activity %+v", got[id])
				}
			}
			if got[followed].StatusCode != StatusInProgress {
				t.Errorf("the activity in progress became %+v", got[followed])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("activities after the restart: %+v", got)
		}
	}
}
