package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ ns, name, metric string }{
		{"AWS/SageMaker", "Invocations", "aws_sagemaker_invocations"},
		{"/aws/sagemaker/Endpoints", "CPUUtilization", "aws_sagemaker_endpoints_cpu_utilization"},
		{"AWS/SageMaker", "Invocation4XXErrors", "aws_sagemaker_invocation4_xx_errors"},
		{"9lives", "a--b..c", "_9lives_a_b_c"},
		{"__x", "é", "x"},
	}
	for _, tc := range tests {
		if got := MetricName(tc.ns, tc.name); got != tc.metric {
			t.Errorf("MetricName(%q, %q) = %q, want %q", tc.ns, tc.name, got, tc.metric)
		}
	}
	for in, want := range map[string]string{"EndpointName": "endpoint_name", "VariantName": "variant_name", "__name__": "name", "GPU-Id": "gpu_id"} {
		if got := SanitizeLabelName(in); got != want {
			t.Errorf("SanitizeLabelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCollector(t *testing.T) {
	s := New(Options{})
	for i := range 100 {
		at := t0.Add(time.Duration(i) * time.Second)
		_ = s.PutBatch(ns, epDims, at, []Sample{{"Invocations", 1, "Count"}, {"ModelLatency", float64(i + 1), "Microseconds"}})
	}
	// Second minute of ModelLatency: 41..100; newest bucket quantiles come from it.
	_ = s.Put(ns, "Invocations", []Dimension{{"EndpointName", "other"}}, 1, "Count", t0)
	_ = s.PutStatistics("/aws/sagemaker/Endpoints", "CPUUtilization", epDims, StatisticSet{2, 150, 50, 100}, "Percent", t0)

	want := `
# HELP aws_sagemaker_invocations CloudWatch metric AWS/SageMaker Invocations (unit Count)
# TYPE aws_sagemaker_invocations summary
aws_sagemaker_invocations{endpoint_name="ep",variant_name="AllTraffic",quantile="0.5"} 1
aws_sagemaker_invocations{endpoint_name="ep",variant_name="AllTraffic",quantile="0.9"} 1
aws_sagemaker_invocations{endpoint_name="ep",variant_name="AllTraffic",quantile="0.99"} 1
aws_sagemaker_invocations_sum{endpoint_name="ep",variant_name="AllTraffic"} 100
aws_sagemaker_invocations_count{endpoint_name="ep",variant_name="AllTraffic"} 100
aws_sagemaker_invocations{endpoint_name="other",variant_name="",quantile="0.5"} 1
aws_sagemaker_invocations{endpoint_name="other",variant_name="",quantile="0.9"} 1
aws_sagemaker_invocations{endpoint_name="other",variant_name="",quantile="0.99"} 1
aws_sagemaker_invocations_sum{endpoint_name="other",variant_name=""} 1
aws_sagemaker_invocations_count{endpoint_name="other",variant_name=""} 1
# HELP aws_sagemaker_endpoints_cpu_utilization CloudWatch metric /aws/sagemaker/Endpoints CPUUtilization (unit Percent)
# TYPE aws_sagemaker_endpoints_cpu_utilization summary
aws_sagemaker_endpoints_cpu_utilization_sum{endpoint_name="ep",variant_name="AllTraffic"} 150
aws_sagemaker_endpoints_cpu_utilization_count{endpoint_name="ep",variant_name="AllTraffic"} 2
`
	if err := testutil.CollectAndCompare(s.Collector(), strings.NewReader(want),
		"aws_sagemaker_invocations", "aws_sagemaker_endpoints_cpu_utilization"); err != nil {
		t.Error(err)
	}
	// Quantiles of ModelLatency's newest minute (values 61..100; nearest rank), within 1%.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "aws_sagemaker_model_latency" {
			continue
		}
		sum := mf.GetMetric()[0].GetSummary()
		if sum.GetSampleCount() != 100 || sum.GetSampleSum() != 5050 {
			t.Errorf("count/sum = %d/%v, want 100/5050", sum.GetSampleCount(), sum.GetSampleSum())
		}
		wantQ := map[float64]float64{0.5: 80, 0.9: 96, 0.99: 99}
		for _, q := range sum.GetQuantile() {
			if w := wantQ[q.GetQuantile()]; q.GetValue() < w*0.99 || q.GetValue() > w*1.01 {
				t.Errorf("quantile %v = %v, want %v ±1%%", q.GetQuantile(), q.GetValue(), w)
			}
		}
		return
	}
	t.Error("aws_sagemaker_model_latency not gathered")
}
