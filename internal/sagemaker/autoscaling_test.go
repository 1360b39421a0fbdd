package sagemaker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/inferscale/inferscale/internal/api"
	isclock "github.com/inferscale/inferscale/internal/clock"
	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/loadgen"
)

// speedup is how much faster than real time the server's clock runs in the
// autoscaling test: a one-minute datapoint takes 2 s, the 15-minute
// scale-in alarm 30 s.
const speedup = 30

// TestTargetTrackingEndToEnd runs an endpoint on the sample model server
// with a target-tracking policy on InvocationsPerInstance, AWS's default
// alarms and cooldowns, and the server's clock 30 times faster than real
// time; a bounded loopback load steps up 4× and back. The replica count
// follows the formula, ceil(instances × metric / target), up and back down,
// each change is a Successful activity, and nothing else scales.
func TestTargetTrackingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 90 s")
	}
	marker := fmt.Sprintf("autoscaling-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := &hostEnv{t: t, ctx: ctx, dir: t.TempDir(),
		opts:  hosting.Options{HealthInterval: 200 * time.Millisecond, LaunchBackoff: 100 * time.Millisecond},
		clock: isclock.NewAccelerated(time.Now(), speedup)}
	e.start()
	t.Cleanup(func() { e.stop() })
	// The load generator's requests are unsigned, so they are in the
	// default region: the clients use it too.
	cfg := e.awsConfig()
	cfg.Region = api.DefaultRegion
	e.sm = sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(e.url) })
	aas := applicationautoscaling.NewFromConfig(cfg, func(o *applicationautoscaling.Options) { o.BaseEndpoint = aws.String(e.url) })

	// The reference model: 8 slots of 5 ms, 1,600 requests/s per replica,
	// far above this test's load, and no CPU to speak of.
	e.createModel("ref", map[string]string{
		"INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "5ms", "INFERSCALE_REFERENCE_SLOTS": "8",
		"INFERSCALE_TEST_MARKER": marker,
	})
	e.hostOneVariant("scaled", "ref")

	// SageMaker's documented commands, as SDK calls.
	const resource = "endpoint/scaled/variant/main"
	if _, err := aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceSagemaker, ScalableDimension: aastypes.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		ResourceId: aws.String(resource), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(8),
	}); err != nil {
		t.Fatal(err)
	}
	const target = 100.0 // invocations per instance per minute
	if _, err := aas.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{
		PolicyName: aws.String("invocations"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		ServiceNamespace: aastypes.ServiceNamespaceSagemaker, ScalableDimension: aastypes.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		ResourceId: aws.String(resource),
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{
			TargetValue:                   aws.Float64(target),
			PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeSageMakerVariantInvocationsPerInstance},
		},
	}); err != nil {
		t.Fatal(err)
	}

	// The load, in invocations per (server) minute: 137.5, then 550 (4×),
	// then 137.5 again. The formula's outcomes sit mid-way between
	// integers, so a few percent of rate error cannot change them:
	//   137.5 on 1 instance:  ceil(1 × 137.5 / 100)  = 2  (1.375)
	//   550 on 2 instances:   ceil(2 × 275 / 100)    = 6  (5.5)
	//   137.5 on 6 instances: ceil(6 × 22.9 / 100)   = 2  (1.375), after the
	//                         low alarm's 15 minutes below 90
	// while 137.5 on 2 (68.75 each) is below 90% of the target but already
	// where the formula wants it: not scaled.
	perMinute := func(invocationsPerMinute float64) float64 { return invocationsPerMinute * speedup / 60 }
	url := e.url + "/endpoints/scaled/invocations"
	phases := []struct {
		name      string
		rate      float64
		duration  time.Duration
		wantAfter int32
	}{
		{"baseline", perMinute(137.5), 20 * time.Second, 2},
		{"4x", perMinute(550), 20 * time.Second, 6},
		{"back to baseline", perMinute(137.5), 45 * time.Second, 2},
	}
	for _, ph := range phases {
		res, err := loadgen.Run(ctx, loadgen.Options{
			Request:  loadgen.Request{URL: url, Payloads: []loadgen.Payload{{Body: []byte(`{"instances":[[1,2,3]]}`), ContentType: "application/json"}}, Timeout: 5 * time.Second},
			Arrivals: &loadgen.Arrivals{Rate: ph.rate, MaxInFlight: 500},
			Duration: ph.duration,
		})
		if err != nil {
			t.Fatal(err)
		}
		failed := res.Sent - res.Succeeded - res.Unfinished
		d := e.describe("scaled")
		t.Logf("%s: %.1f req/s (%.0f per server minute), %d failed; desired %d, in service %d",
			ph.name, res.Throughput(), res.Throughput()*60/speedup, failed, d.desired, d.current)
		if failed > res.Sent/100 {
			t.Errorf("%s: %d of %d requests failed (%s)", ph.name, failed, res.Sent, res.FirstError)
		}
		if d.desired != ph.wantAfter {
			t.Errorf("after %s: desired %d instances, want %d", ph.name, d.desired, ph.wantAfter)
		}
	}

	// Every change is a Successful activity, in order, and there is no other.
	out, err := aas.DescribeScalingActivities(ctx, &applicationautoscaling.DescribeScalingActivitiesInput{
		ServiceNamespace: aastypes.ServiceNamespaceSagemaker, ResourceId: aws.String(resource),
	})
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, a := range slices.Backward(out.ScalingActivities) { // newest first
		t.Logf("activity %s %s: %s (%s)", a.StatusCode, aws.ToString(a.Description), aws.ToString(a.Cause), aws.ToString(a.StatusMessage))
		if a.StatusCode != aastypes.ScalingActivityStatusCodeSuccessful {
			t.Errorf("activity %q is %s: %s", aws.ToString(a.Description), a.StatusCode, aws.ToString(a.StatusMessage))
		}
		changes = append(changes, aws.ToString(a.Description))
	}
	want := []string{"Setting desired instance count to 2.", "Setting desired instance count to 6.", "Setting desired instance count to 2."}
	if !slices.Equal(changes, want) {
		t.Errorf("activities\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
	// The replicas are real processes: two remain.
	deadline := time.Now().Add(10 * time.Second)
	for len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker)) != 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker)); n != 2 {
		t.Errorf("%d model server processes run, want 2", n)
	}
}

// hostOneVariant creates an endpoint called name, with one variant "main"
// of one instance of model, and waits until it is in service.
func (e *hostEnv) hostOneVariant(name, model string) {
	e.t.Helper()
	if _, err := e.sm.CreateEndpointConfig(e.ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String(name), ProductionVariants: []types.ProductionVariant{variant("main", model, 1, 1)},
	}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.sm.CreateEndpoint(e.ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(name)}); err != nil {
		e.t.Fatal(err)
	}
	e.waitInService(name)
}

type variantCounts struct{ desired, current int32 }

// describe returns the desired and current instance counts of an
// endpoint's only variant.
func (e *hostEnv) describe(name string) variantCounts {
	e.t.Helper()
	out, err := e.sm.DescribeEndpoint(e.ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	v := out.ProductionVariants[0]
	return variantCounts{aws.ToInt32(v.DesiredInstanceCount), aws.ToInt32(v.CurrentInstanceCount)}
}

// TestStepAndScheduledEndToEnd: a step policy run by a CloudWatch alarm on
// InvocationsPerInstance scales out when a 4× load step breaches the
// alarm, and a scheduled action at a local time in Europe/Berlin raises the
// minimum capacity, which raises the capacity; the server's clock runs 30
// times faster than real time.
func TestStepAndScheduledEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 40 s")
	}
	marker := fmt.Sprintf("step-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clk := isclock.NewAccelerated(time.Now(), speedup)
	e := &hostEnv{t: t, ctx: ctx, dir: t.TempDir(),
		opts:  hosting.Options{HealthInterval: 200 * time.Millisecond, LaunchBackoff: 100 * time.Millisecond},
		clock: clk}
	e.start()
	t.Cleanup(func() { e.stop() })
	cfg := e.awsConfig()
	cfg.Region = api.DefaultRegion
	e.sm = sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(e.url) })
	aas := applicationautoscaling.NewFromConfig(cfg, func(o *applicationautoscaling.Options) { o.BaseEndpoint = aws.String(e.url) })
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(e.url) })

	e.createModel("ref", map[string]string{
		"INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "5ms", "INFERSCALE_REFERENCE_SLOTS": "8",
		"INFERSCALE_TEST_MARKER": marker,
	})
	e.hostOneVariant("stepped", "ref")
	const resource = "endpoint/stepped/variant/main"
	ns, dim := aastypes.ServiceNamespaceSagemaker, aastypes.ScalableDimensionSageMakerVariantDesiredInstanceCount
	if _, err := aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(6),
	}); err != nil {
		t.Fatal(err)
	}
	// +2 instances when the alarm's value is at least 0 over its
	// threshold, +3 from 300 over; the value is the largest of the
	// datapoints evaluated (the first may be the minute of the step, half
	// of it at the old load).
	pol, err := aas.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{
		PolicyName: aws.String("step-out"), PolicyType: aastypes.PolicyTypeStepScaling,
		ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{
			AdjustmentType: aastypes.AdjustmentTypeChangeInCapacity, Cooldown: aws.Int32(120),
			MetricAggregationType: aastypes.MetricAggregationTypeMaximum,
			StepAdjustments: []aastypes.StepAdjustment{
				{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(300), ScalingAdjustment: aws.Int32(2)},
				{MetricIntervalLowerBound: aws.Float64(300), ScalingAdjustment: aws.Int32(3)},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Above 200 invocations per instance per minute for 2 of 2 minutes.
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("stepped-busy"), AlarmActions: []string{aws.ToString(pol.PolicyARN)},
		Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("InvocationsPerInstance"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("stepped")}, {Name: aws.String("VariantName"), Value: aws.String("main")}},
		Statistic:  cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(2), Threshold: aws.Float64(200),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	// Twelve server minutes from now, local time in Berlin, the minimum
	// becomes 4.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	when := clk.Now().Add(12 * time.Minute).In(berlin)
	if _, err := aas.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{
		ScheduledActionName: aws.String("morning"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		Schedule: aws.String("at(" + when.Format("2006-01-02T15:04:05") + ")"), Timezone: aws.String("Europe/Berlin"),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(4)},
	}); err != nil {
		t.Fatal(err)
	}

	// 150 per minute on 1 instance: below 200. Then 4×: 600 on 1, 400
	// over the threshold: +3, to 4. On 4, 150 each: below again.
	url := e.url + "/endpoints/stepped/invocations"
	for _, ph := range []struct {
		name        string
		perMinute   float64
		duration    time.Duration
		wantDesired int32
	}{
		{"baseline", 150, 8 * time.Second, 1},
		{"4x", 600, 12 * time.Second, 4},
	} {
		res, err := loadgen.Run(ctx, loadgen.Options{
			Request:  loadgen.Request{URL: url, Payloads: []loadgen.Payload{{Body: []byte(`{"instances":[[1,2,3]]}`), ContentType: "application/json"}}, Timeout: 5 * time.Second},
			Arrivals: &loadgen.Arrivals{Rate: ph.perMinute * speedup / 60, MaxInFlight: 500},
			Duration: ph.duration,
		})
		if err != nil {
			t.Fatal(err)
		}
		if failed := res.Sent - res.Succeeded - res.Unfinished; failed > res.Sent/100 {
			t.Errorf("%s: %d of %d requests failed (%s)", ph.name, failed, res.Sent, res.FirstError)
		}
		if d := e.describe("stepped"); d.desired != ph.wantDesired {
			t.Errorf("after %s: desired %d, want %d", ph.name, d.desired, ph.wantDesired)
		}
	}
	// Scale in by hand to 2 (as an operator would); the scheduled action
	// then brings it back to its new minimum, 4.
	if _, err := e.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName: aws.String("stepped"), DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("main"), DesiredInstanceCount: aws.Int32(2)}},
	}); err != nil {
		t.Fatal(err)
	}
	for clk.Now().Before(when.Add(time.Minute)) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.describe("stepped").current != 4 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if d := e.describe("stepped"); d.desired != 4 || d.current != 4 {
		t.Errorf("after the scheduled action: desired %d, in service %d, want 4", d.desired, d.current)
	}
	out, err := aas.DescribeScalingActivities(ctx, &applicationautoscaling.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String(resource)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range slices.Backward(out.ScalingActivities) {
		got = append(got, fmt.Sprintf("%s | %s | %s", aws.ToString(a.Description), aws.ToString(a.Cause), a.StatusCode))
	}
	want := []string{
		"Setting desired instance count to 4. | monitor alarm stepped-busy in state ALARM triggered policy step-out | Successful",
		"Setting min capacity to 4 | scheduled action name morning was triggered | Successful",
		"Setting desired instance count to 4. | minimum capacity was set to 4 | Successful",
	}
	if !slices.Equal(got, want) {
		t.Errorf("activities\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker)); n != 4 {
		t.Errorf("%d model server processes run, want 4", n)
	}
}
