package metrics

import (
	"fmt"
	"slices"
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
		wantQ := map[float64]float64{0.5: 80, 0.9: 96, 0.99: 100}
		for _, q := range sum.GetQuantile() {
			if w := wantQ[q.GetQuantile()]; q.GetValue() < w*0.99 || q.GetValue() > w*1.01 {
				t.Errorf("quantile %v = %v, want %v ±1%%", q.GetQuantile(), q.GetValue(), w)
			}
		}
		return
	}
	t.Error("aws_sagemaker_model_latency not gathered")
}

// TestCollectorNames: whatever was put, the export gathers without error,
// alongside the registry's other metrics, and keeps every series under
// names given as Collector documents.
func TestCollectorNames(t *testing.T) {
	s := New(Options{})
	put := func(ns, name string, dims []Dimension, v float64) {
		t.Helper()
		if err := s.Put(ns, name, dims, v, "Count", t0); err != nil {
			t.Fatal(err)
		}
	}
	put("QD", "Q", []Dimension{{"quantile", "x"}}, 1)
	put("QT", "t", nil, 2)
	put("QT", "t_count", nil, 3)
	put("QT", "t_count_2", nil, 4)
	put("inferscale", "api_requests_total", nil, 5)
	put("go", "goroutines", nil, 6)
	put("QB/a", "b_c", nil, 7)
	put("QB/a_b", "c", nil, 8)
	put("QL", "L", []Dimension{{"a-b", "1"}, {"a_b", "2"}, {"aws_region", "3"}}, 9)
	put("QL", "L", []Dimension{{"a_b", "4"}}, 10)
	put("QL", "L", []Dimension{{"a-b", "4"}}, 11)
	if err := s.In(Scope{"111111111111", "eu-west-1"}).Put("QL", "L", []Dimension{{"aws_region", "5"}}, 12, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("QU", "U", nil, 13, "Seconds", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("QU", "U", []Dimension{{"D", "bad \xff"}}, 14, "Seconds", t0); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewPedanticRegistry()
	own := prometheus.NewCounter(prometheus.CounterOpts{Name: "inferscale_api_requests_total", Help: "own"})
	goroutines := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_goroutines", Help: "own"})
	reg.MustRegister(own, goroutines, s.Collector("go_", "inferscale_api_"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var got []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetSummary().GetSampleSum()
			if mf.GetHelp() == "own" {
				v = -1
			}
			got = append(got, fmt.Sprintf("%s{%s} %v", mf.GetName(), strings.Join(labels, ","), v))
		}
	}
	want := []string{
		"exported_go_goroutines{} 6",
		"exported_inferscale_api_requests_total{} 5",
		"go_goroutines{} -1",
		"inferscale_api_requests_total{} -1",
		"qb_a_b_c{} 7",
		"qb_a_b_c_2{} 8",
		"qd_q{exported_quantile=x} 1",
		// Label names by dimension name: "a-b" < "a_b" < "aws_region".
		"ql_l{a_b=1,a_b_2=2,aws_account=,aws_region=,exported_aws_region=3} 9",
		"ql_l{a_b=,a_b_2=4,aws_account=,aws_region=,exported_aws_region=} 10",
		"ql_l{a_b=4,a_b_2=,aws_account=,aws_region=,exported_aws_region=} 11",
		"ql_l{a_b=,a_b_2=,aws_account=111111111111,aws_region=eu-west-1,exported_aws_region=5} 12",
		"qt_t{} 2",
		"qt_t_count_2{} 3",
		"qt_t_count_2_2{} 4",
		"qu_u{d=} 13",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("exported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
