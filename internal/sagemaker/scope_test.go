package sagemaker_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// TestMetricsPerRegion: endpoints of the same name in two regions have
// their own metrics, as in CloudWatch: each region's GetMetricStatistics
// counts its own invocations, PutMetricData in one region is not seen in
// the other, and a third region lists no metrics.
func TestMetricsPerRegion(t *testing.T) {
	e := newHostEnv(t)
	clients := func(region string) (*sagemaker.Client, *sagemakerruntime.Client, *cloudwatch.Client) {
		cfg := e.awsConfig()
		cfg.Region = region
		return sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(e.url) }),
			sagemakerruntime.NewFromConfig(cfg, func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(e.url) }),
			cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(e.url) })
	}
	start := time.Now().Add(-time.Minute)
	regions := []string{"us-west-2", "eu-west-1"}
	for i, region := range regions {
		e.sm, e.rt, _ = clients(region)
		e.createModel("m", map[string]string{"INFERSCALE_MODEL": "mlp", "INFERSCALE_MLP_INPUT": "4", "INFERSCALE_MLP_HIDDEN": "4", "INFERSCALE_MLP_CLASSES": "2"})
		e.hostOneVariant("same-name", "m")
		for range 3 + 2*i { // 3 in the first region, 5 in the second
			if _, err := e.rt.InvokeEndpoint(e.ctx, &sagemakerruntime.InvokeEndpointInput{
				EndpointName: aws.String("same-name"), ContentType: aws.String("application/json"),
				Body: []byte(`{"instances": [[0.5, -1.25, 2.0, 0.75]]}`),
			}); err != nil {
				t.Fatalf("%s: invoke: %v", region, err)
			}
		}
		_, _, cw := clients(region)
		if _, err := cw.PutMetricData(e.ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Custom/" + region),
			MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("M"), Value: aws.Float64(1)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for i, region := range regions {
		_, _, cw := clients(region)
		// An invocation's metrics are recorded once its response is sent:
		// read until the last one is in (CloudWatch's are later still).
		sum, want := 0.0, float64(3+2*i)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			out, err := cw.GetMetricStatistics(e.ctx, &cloudwatch.GetMetricStatisticsInput{
				Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("Invocations"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("same-name")}, {Name: aws.String("VariantName"), Value: aws.String("main")}},
				StartTime:  aws.Time(start), EndTime: aws.Time(time.Now().Add(time.Minute)), Period: aws.Int32(3600),
				Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
			})
			if err != nil {
				t.Fatal(err)
			}
			sum = 0
			for _, dp := range out.Datapoints {
				sum += aws.ToFloat64(dp.Sum)
			}
			if sum >= want || time.Now().After(deadline) {
				break
			}
		}
		if sum != want {
			t.Errorf("%s: %v invocations, want %v", region, sum, want)
		}
		list, err := cw.ListMetrics(e.ctx, &cloudwatch.ListMetricsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list.Metrics {
			if ns := aws.ToString(m.Namespace); strings.HasPrefix(ns, "Custom/") && ns != "Custom/"+region {
				t.Errorf("%s lists %s", region, ns)
			}
		}
	}
	_, _, cw := clients("ap-south-1")
	list, err := cw.ListMetrics(e.ctx, &cloudwatch.ListMetricsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Metrics) != 0 {
		t.Errorf("a region without endpoints lists %d metrics, first %s", len(list.Metrics), aws.ToString(list.Metrics[0].MetricName))
	}
}
