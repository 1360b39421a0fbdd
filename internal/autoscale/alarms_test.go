package autoscale

import (
	"reflect"
	"testing"

	"github.com/inferscale/inferscale/internal/cloudwatch"
)

func TestTargetTrackingAlarm(t *testing.T) {
	v := Variant{Endpoint: "my-endpoint", Variant: "my-variant"}
	const arn = "arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:p-id:resource/sagemaker/endpoint/my-endpoint/variant/my-variant:policyName/p"
	dims := []cloudwatch.Dimension{{Name: "EndpointName", Value: "my-endpoint"}, {Name: "VariantName", Value: "my-variant"}}
	inv, _ := PredefinedMetric(predefinedInvocations, v)
	conc, _ := PredefinedMetric(predefinedConcurrencyHiRes, v)
	tests := []struct {
		name      string
		high      bool
		m         TrackedMetric
		metric    string
		stat      string
		period    int32
		evals     int32
		op        string
		threshold float64
	}{
		{"invocations high", true, inv, "InvocationsPerInstance", "Sum", 60, 3, "GreaterThanThreshold", 70},
		{"invocations low", false, inv, "InvocationsPerInstance", "Sum", 60, 15, "LessThanThreshold", 63},
		{"concurrency high: one 10-second datapoint", true, conc, "ConcurrentRequestsPerModel", "Average", 10, 1, "GreaterThanThreshold", 70},
		{"concurrency low: as standard metrics", false, conc, "ConcurrentRequestsPerModel", "Average", 60, 15, "LessThanThreshold", 63},
	}
	for _, tc := range tests {
		name := AlarmName(v.ResourceID(), tc.high, "uuid-1")
		spec := TargetTrackingAlarm(name, arn, tc.high, 70, tc.m)
		if spec.Namespace != "AWS/SageMaker" || spec.MetricName != tc.metric || spec.Statistic != tc.stat ||
			!reflect.DeepEqual(spec.Dimensions, dims) || spec.Period != tc.period ||
			spec.EvaluationPeriods != tc.evals || spec.DatapointsToAlarm != tc.evals ||
			spec.ComparisonOperator != tc.op || spec.Threshold == nil || *spec.Threshold != tc.threshold {
			t.Errorf("%s: spec %+v", tc.name, spec)
		}
		if !reflect.DeepEqual(spec.AlarmActions, []string{arn}) || spec.ActionsEnabled == nil || !*spec.ActionsEnabled ||
			len(spec.OKActions) != 0 || spec.AlarmDescription != "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy "+arn+"." {
			t.Errorf("%s: actions/description %+v", tc.name, spec)
		}
	}
	if got := AlarmName("endpoint/my-endpoint/variant/my-variant", true, "u"); got != "TargetTracking-endpoint/my-endpoint/variant/my-variant-AlarmHigh-u" {
		t.Errorf("AlarmName = %s", got)
	}
	if _, ok := PredefinedMetric("SageMakerVariantProvisionedConcurrencyUtilization", v); ok {
		t.Error("a serverless metric applies to instance variants")
	}
}

func TestTargetTrackingAlarmMetricMath(t *testing.T) {
	f := false
	m := TrackedMetric{Queries: []TargetTrackingMetricDataQuery{
		{Id: "m1", ReturnData: &f, MetricStat: &TargetTrackingMetricStat{Stat: "Sum",
			Metric: TargetTrackingMetric{Namespace: "AWS/SageMaker", MetricName: "Invocations",
				Dimensions: []MetricDimension{{Name: "EndpointName", Value: "e"}}}}},
		{Id: "e1", Expression: "m1 / 2", Label: "per instance"},
	}}
	spec := TargetTrackingAlarm("n", "arn", true, 10, m)
	if spec.MetricName != "" || spec.Period != 0 || len(spec.Metrics) != 2 {
		t.Fatalf("spec %+v", spec)
	}
	q := spec.Metrics[0]
	if q.ID != "m1" || q.ReturnData == nil || *q.ReturnData || q.MetricStat == nil || q.MetricStat.Period != 60 ||
		q.MetricStat.Stat != "Sum" || q.MetricStat.Metric.MetricName != "Invocations" ||
		!reflect.DeepEqual(q.MetricStat.Metric.Dimensions, []cloudwatch.Dimension{{Name: "EndpointName", Value: "e"}}) {
		t.Errorf("metric query %+v / %+v", q, q.MetricStat)
	}
	if e := spec.Metrics[1]; e.ID != "e1" || e.Expression != "m1 / 2" || e.Label != "per instance" || e.MetricStat != nil {
		t.Errorf("expression %+v", e)
	}
}
