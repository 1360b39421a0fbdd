package autoscale

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
)

// The alarms target-tracking policies create are valid CloudWatch alarms:
// the real CloudWatch service accepts every form (predefined standard and
// high-resolution metrics, a customized metric, metric math).
func TestAlarmsAcceptedByCloudWatch(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	cw := &cloudwatch.Service{Store: st, Metrics: metrics.New(metrics.Options{})}
	v := Variant{Endpoint: "my-endpoint", Variant: "my-variant"}
	arn := policyARN(targetRef{account: testAccount, region: testRegion, resourceID: v.ResourceID(), variant: v}, newUUID(), "p")
	inv, _ := PredefinedMetric(predefinedInvocations, v)
	conc, _ := PredefinedMetric(predefinedConcurrencyHiRes, v)
	f := false
	metricsForms := map[string]TrackedMetric{
		"invocations": inv, "concurrency": conc,
		"cpu": {Namespace: "/aws/sagemaker/Endpoints", MetricName: "CPUUtilization", Statistic: "Average", Unit: "Percent",
			Dimensions: []cloudwatch.Dimension{{Name: "EndpointName", Value: "my-endpoint"}, {Name: "VariantName", Value: "my-variant"}}},
		"math": {Queries: []TargetTrackingMetricDataQuery{
			{Id: "m1", ReturnData: &f, MetricStat: &TargetTrackingMetricStat{Stat: "Sum",
				Metric: TargetTrackingMetric{Namespace: "AWS/SageMaker", MetricName: "Invocations",
					Dimensions: []MetricDimension{{Name: "EndpointName", Value: "my-endpoint"}, {Name: "VariantName", Value: "my-variant"}}}}},
			{Id: "e1", Expression: "m1 / 2"},
		}},
	}
	for name, m := range metricsForms {
		for _, high := range []bool{true, false} {
			spec := TargetTrackingAlarm(AlarmName(v.ResourceID(), high, newUUID()), arn, high, 70, m)
			got, err := cw.PutAlarm(context.Background(), testAccount, testRegion, spec)
			if err != nil {
				t.Errorf("%s (high %v): CloudWatch refuses the alarm: %v", name, high, err)
				continue
			}
			if want := "arn:aws:cloudwatch:" + testRegion + ":" + testAccount + ":alarm:" + spec.AlarmName; got != want {
				t.Errorf("alarm ARN %s, want %s", got, want)
			}
		}
	}
}

// The whole loop with the real CloudWatch alarm loop: invocation metrics
// in the metrics store breach the policy's high alarm, CloudWatch runs the
// policy's action through Handle, and the variant scales out.
func TestScalesThroughCloudWatchAlarms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, 2, 2*time.Minute)
		ms := metrics.New(metrics.Options{})
		cw := &cloudwatch.Service{Store: s.st, Metrics: ms}
		cw.AddActionHandler(s.svc)
		s.svc.Alarms = cw
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cw.RunAlarms(ctx, nil) }()
		defer func() { cancel(); <-done }()

		t0 := time.Now()
		s.register(1, 10, nil)
		out := s.policy(putPolicyInput{PolicyName: "invocations", PolicyType: PolicyTargetTracking,
			TargetTrackingScalingPolicyConfiguration: &TargetTrackingScalingPolicyConfiguration{TargetValue: 70,
				PredefinedMetricSpecification: &PredefinedMetricSpecification{PredefinedMetricType: predefinedInvocations}}})
		dims := []metrics.Dimension{{Name: "EndpointName", Value: "my-endpoint"}, {Name: "VariantName", Value: "my-variant"}}
		// 420 invocations a minute, recorded every 10 seconds as
		// InvocationsPerInstance (1/instances in service per request).
		for range 6 * 10 {
			_, inService := s.cap.state(testAccount, testRegion, variantID)
			perInstance := 70.0 / float64(inService)
			s.must(ms.In(cloudwatch.MetricsScope(testAccount, testRegion)).PutStatistics("AWS/SageMaker", "InvocationsPerInstance", dims,
				metrics.StatisticSet{SampleCount: 70, Sum: perInstance, Minimum: perInstance / 70, Maximum: perInstance / 70}, "Count", time.Now()))
			time.Sleep(10 * time.Second)
		}
		synctest.Wait()
		as := s.activities(false)
		if len(as) == 0 {
			t.Fatalf("no scaling in 10 minutes of 210 invocations per instance")
		}
		a := as[0]
		if a.Description != "Setting desired instance count to 6." ||
			a.Cause != "monitor alarm "+out.Alarms[0].AlarmName+" in state ALARM triggered policy invocations" {
			t.Errorf("activity:%s", describe(as, t0))
		}
		if d := a.StartTime.Sub(t0); d < 3*time.Minute || d > 5*time.Minute {
			t.Errorf("scaled out after %v, want about 3 minutes", d)
		}
		if len(as) != 1 || s.desired() != 6 {
			t.Errorf("capacity %d after:%s", s.desired(), describe(as, t0))
		}
	})
}
