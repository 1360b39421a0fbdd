package cloudwatch_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/metrics"
)

// sdkClient is a real aws-sdk-go-v2 CloudWatch client for the env's
// server. protocol "json" selects the awsJson1_0 protocol and "query" the
// awsQuery protocol, which the SDK supports besides its default,
// rpc-v2-cbor.
func sdkClient(e *env, protocol string) *cw.Client {
	cfg := aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer:    func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient: e.srv.Client(),
	}
	return cw.NewFromConfig(cfg, func(o *cw.Options) {
		o.BaseEndpoint = aws.String(e.srv.URL)
		switch protocol {
		case "json":
			o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
		case "query":
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}
	})
}

func TestSDK(t *testing.T) {
	for _, protocol := range []string{"json", "cbor"} {
		t.Run(protocol, func(t *testing.T) {
			e := newEnv(t)
			c := sdkClient(e, protocol)
			_, err := c.ListMetrics(e.ctx, &cw.ListMetricsInput{})
			var ae smithy.APIError
			if protocol == "cbor" && errors.As(err, &ae) && ae.ErrorCode() == "UnsupportedProtocolException" {
				t.Skipf("the router does not serve rpc-v2-cbor yet: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			sdkMetrics(t, e, c)
			sdkAlarms(t, e, c)
			sdkErrors(t, e, c)
		})
	}
}

func sdkMetrics(t *testing.T, e *env, c *cw.Client) {
	ctx := e.ctx
	dims := []types.Dimension{{Name: aws.String("Host"), Value: aws.String("a")}}
	_, err := c.PutMetricData(ctx, &cw.PutMetricDataInput{
		Namespace: aws.String("Custom/SDK"),
		MetricData: []types.MetricDatum{
			{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: aws.Time(at("09:58:10")), Values: []float64{10, 20}, Counts: []float64{3, 1}, Unit: types.StandardUnitMilliseconds},
			{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: aws.Time(at("09:59:10")), Value: aws.Float64(40), Unit: types.StandardUnitMilliseconds},
			{MetricName: aws.String("Requests"), Dimensions: dims, Timestamp: aws.Time(at("09:58:20")), StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(5), Sum: aws.Float64(5), Minimum: aws.Float64(1), Maximum: aws.Float64(1)}},
			{MetricName: aws.String("Requests"), Dimensions: dims, Timestamp: aws.Time(at("09:59:20")), Value: aws.Float64(4)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.GetMetricStatistics(ctx, &cw.GetMetricStatisticsInput{
		Namespace: aws.String("Custom/SDK"), MetricName: aws.String("Latency"), Dimensions: dims,
		StartTime: aws.Time(at("09:58:00")), EndTime: aws.Time(at("10:00:00")), Period: aws.Int32(60),
		Statistics: []types.Statistic{types.StatisticAverage, types.StatisticSampleCount},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Datapoints) != 2 || aws.ToFloat64(st.Datapoints[0].Average) != 12.5 || aws.ToFloat64(st.Datapoints[0].SampleCount) != 4 ||
		!aws.ToTime(st.Datapoints[1].Timestamp).Equal(at("09:59:00")) || st.Datapoints[1].Unit != types.StandardUnitMilliseconds || aws.ToString(st.Label) != "Latency" {
		t.Errorf("GetMetricStatistics: %+v", st.Datapoints)
	}
	pct, err := c.GetMetricStatistics(ctx, &cw.GetMetricStatisticsInput{
		Namespace: aws.String("Custom/SDK"), MetricName: aws.String("Latency"), Dimensions: dims,
		StartTime: aws.Time(at("09:58:00")), EndTime: aws.Time(at("09:59:00")), Period: aws.Int32(60),
		ExtendedStatistics: []string{"p50"},
	})
	if err != nil || len(pct.Datapoints) != 1 || math.Abs(pct.Datapoints[0].ExtendedStatistics["p50"]-10) > 0.2 {
		t.Errorf("p50: %+v %v", pct, err)
	}

	// GetMetricData through the paginator, one datapoint a page.
	in := &cw.GetMetricDataInput{
		StartTime: aws.Time(at("09:58:00")), EndTime: aws.Time(at("10:00:00")), ScanBy: types.ScanByTimestampAscending, MaxDatapoints: aws.Int32(1),
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("lat"), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Custom/SDK"), MetricName: aws.String("Latency"), Dimensions: dims}, Period: aws.Int32(60), Stat: aws.String("Maximum")}},
			{Id: aws.String("req"), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Custom/SDK"), MetricName: aws.String("Requests"), Dimensions: dims}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
			{Id: aws.String("work"), Expression: aws.String("lat * req"), Label: aws.String("Work")},
		},
	}
	var got []string
	p := cw.NewGetMetricDataPaginator(c, in)
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.MetricDataResults {
			for i := range r.Timestamps {
				got = append(got, aws.ToString(r.Label)+"@"+r.Timestamps[i].UTC().Format("15:04")+"="+formatFloat(r.Values[i]))
			}
		}
	}
	if strings.Join(got, " ") != "Work@09:58=100 Work@09:59=160" {
		t.Errorf("GetMetricData pages: %v", got)
	}

	lm, err := c.ListMetrics(ctx, &cw.ListMetricsInput{Namespace: aws.String("Custom/SDK"), Dimensions: []types.DimensionFilter{{Name: aws.String("Host")}}})
	if err != nil || len(lm.Metrics) != 2 || aws.ToString(lm.Metrics[0].MetricName) != "Latency" || aws.ToString(lm.Metrics[1].Dimensions[0].Value) != "a" {
		t.Errorf("ListMetrics: %+v %v", lm, err)
	}
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func sdkAlarms(t *testing.T, e *env, c *cw.Client) {
	ctx := e.ctx
	dims := []types.Dimension{{Name: aws.String("Host"), Value: aws.String("a")}}
	for _, name := range []string{"sdk-a", "sdk-b", "sdk-c"} {
		_, err := c.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String("Custom/SDK"), MetricName: aws.String("Latency"), Dimensions: dims,
			Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(2), DatapointsToAlarm: aws.Int32(1),
			Threshold: aws.Float64(30), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
			TreatMissingData: aws.String("notBreaching"), AlarmActions: []string{scaleOutARN},
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	p := cw.NewDescribeAlarmsPaginator(c, &cw.DescribeAlarmsInput{AlarmNamePrefix: aws.String("sdk-"), MaxRecords: aws.Int32(2)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
	}
	if strings.Join(names, " ") != "sdk-a sdk-b sdk-c" {
		t.Errorf("DescribeAlarms pages: %v", names)
	}
	da, err := c.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{"sdk-a"}})
	if err != nil || len(da.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms: %+v %v", da, err)
	}
	a := da.MetricAlarms[0]
	if a.StateValue != types.StateValueInsufficientData || aws.ToString(a.AlarmArn) != alarmARN("sdk-a") || aws.ToInt32(a.DatapointsToAlarm) != 1 ||
		aws.ToFloat64(a.Threshold) != 30 || !aws.ToBool(a.ActionsEnabled) || aws.ToString(a.TreatMissingData) != "notBreaching" ||
		!aws.ToTime(a.StateUpdatedTimestamp).Equal(start) || a.AlarmActions[0] != scaleOutARN {
		t.Errorf("alarm: %+v", a)
	}

	// The alarm loop's pass: 09:59 averages 40 > 30.
	if err := e.svc.EvaluateNow(ctx, at("10:00:03")); err != nil {
		t.Fatal(err)
	}
	da, _ = c.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{"sdk-a"}, StateValue: types.StateValueAlarm})
	if len(da.MetricAlarms) != 1 || !strings.HasPrefix(aws.ToString(da.MetricAlarms[0].StateReason), "Threshold Crossed: 1 out of the last 2 datapoints [40.0 (26/11/25 09:59:00)]") {
		t.Errorf("after evaluation: %+v", da.MetricAlarms)
	}

	e.setNow(at("10:00:10"))
	if _, err := c.SetAlarmState(ctx, &cw.SetAlarmStateInput{AlarmName: aws.String("sdk-b"), StateValue: types.StateValueOk, StateReason: aws.String("manual")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableAlarmActions(ctx, &cw.DisableAlarmActionsInput{AlarmNames: []string{"sdk-c"}}); err != nil {
		t.Fatal(err)
	}
	hist, err := c.DescribeAlarmHistory(ctx, &cw.DescribeAlarmHistoryInput{AlarmName: aws.String("sdk-b"), HistoryItemType: types.HistoryItemTypeStateUpdate})
	if err != nil || len(hist.AlarmHistoryItems) != 2 || aws.ToString(hist.AlarmHistoryItems[0].HistorySummary) != "Alarm updated from ALARM to OK" ||
		hist.AlarmHistoryItems[0].AlarmType != types.AlarmTypeMetricAlarm {
		t.Errorf("history: %+v %v", hist, err)
	}

	arn := aws.String(alarmARN("sdk-a"))
	if _, err := c.TagResource(ctx, &cw.TagResourceInput{ResourceARN: arn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &cw.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &cw.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" {
		t.Errorf("tags: %+v %v", tags, err)
	}

	fm, err := c.DescribeAlarmsForMetric(ctx, &cw.DescribeAlarmsForMetricInput{Namespace: aws.String("Custom/SDK"), MetricName: aws.String("Latency"), Dimensions: dims, Statistic: types.StatisticAverage})
	if err != nil || len(fm.MetricAlarms) != 3 {
		t.Errorf("DescribeAlarmsForMetric: %d %v", len(fm.MetricAlarms), err)
	}
	if _, err := c.DeleteAlarms(ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{"sdk-a", "sdk-b", "sdk-c"}}); err != nil {
		t.Fatal(err)
	}
}

func sdkErrors(t *testing.T, e *env, c *cw.Client) {
	ctx := e.ctx
	_, err := c.PutMetricData(ctx, &cw.PutMetricDataInput{Namespace: aws.String("AWS/EC2"), MetricData: []types.MetricDatum{{MetricName: aws.String("M"), Value: aws.Float64(1)}}})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) || !strings.Contains(ipv.ErrorMessage(), "AWS/EC2") {
		t.Errorf("reserved namespace: %v", err)
	}
	_, err = c.GetMetricStatistics(ctx, &cw.GetMetricStatisticsInput{
		Namespace: aws.String("N"), MetricName: aws.String("M"), StartTime: aws.Time(at("00:00:00")), EndTime: aws.Time(at("10:00:00")),
		Period: aws.Int32(10), Statistics: []types.Statistic{types.StatisticSum},
	})
	var ipc *types.InvalidParameterCombinationException
	if !errors.As(err, &ipc) || !strings.Contains(ipc.ErrorMessage(), "3,600 datapoints") {
		t.Errorf("too many datapoints: %v", err)
	}
	_, err = c.DeleteAlarms(ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{"ghost"}})
	var rnf *types.ResourceNotFound
	if !errors.As(err, &rnf) {
		t.Errorf("DeleteAlarms ghost: %v", err)
	}
	_, err = c.ListTagsForResource(ctx, &cw.ListTagsForResourceInput{ResourceARN: aws.String(alarmARN("ghost"))})
	var rnfe *types.ResourceNotFoundException
	if !errors.As(err, &rnfe) {
		t.Errorf("ListTagsForResource ghost: %v", err)
	}
	_, err = c.SetAlarmState(ctx, &cw.SetAlarmStateInput{AlarmName: aws.String("ghost"), StateValue: types.StateValueOk, StateReason: aws.String("x")})
	if !errors.As(err, &rnf) {
		t.Errorf("SetAlarmState ghost: %v", err)
	}
	_, err = c.DescribeAlarms(ctx, &cw.DescribeAlarmsInput{NextToken: aws.String("###")})
	var tok *types.InvalidNextToken
	if !errors.As(err, &tok) {
		t.Errorf("bad token: %v", err)
	}
	_, err = c.PutMetricAlarm(ctx, &cw.PutMetricAlarmInput{
		AlarmName: aws.String("x"), Namespace: aws.String("N"), MetricName: aws.String("M"), Statistic: types.StatisticSum,
		Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorLessThanLowerThreshold,
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || !strings.Contains(ae.ErrorMessage(), "anomaly detection") {
		t.Errorf("anomaly operator: %v", err)
	}
}

// TestNonFiniteValues: NaN and the infinities, which every protocol can
// carry, are refused by CloudWatch's own check (InvalidParameterValue),
// not by the decoder (SerializationException), and store nothing.
func TestNonFiniteValues(t *testing.T) {
	for _, protocol := range []string{"json", "cbor"} {
		t.Run(protocol, func(t *testing.T) {
			e := newEnv(t)
			c := sdkClient(e, protocol)
			for _, tt := range []struct {
				datum types.MetricDatum
				want  string
			}{
				{types.MetricDatum{MetricName: aws.String("M"), Value: aws.Float64(math.NaN())}, "The value NaN for parameter MetricData.member.1.Value is invalid."},
				{types.MetricDatum{MetricName: aws.String("M"), Value: aws.Float64(math.Inf(1))}, "The value Infinity for parameter MetricData.member.1.Value is invalid."},
				{types.MetricDatum{MetricName: aws.String("M"), Values: []float64{1, math.Inf(-1)}}, "The value -Infinity for parameter MetricData.member.1.Values.member.2 is invalid."},
				{types.MetricDatum{MetricName: aws.String("M"), Values: []float64{1, 2}, Counts: []float64{1, math.NaN()}}, "The value NaN for parameter MetricData.member.1.Counts.member.2 is invalid."},
				{types.MetricDatum{MetricName: aws.String("M"), Values: []float64{1}, Counts: []float64{math.Inf(1)}}, "The value Infinity for parameter MetricData.member.1.Counts.member.1 is invalid."},
				{types.MetricDatum{MetricName: aws.String("M"), StatisticValues: &types.StatisticSet{
					SampleCount: aws.Float64(1), Sum: aws.Float64(math.NaN()), Minimum: aws.Float64(1), Maximum: aws.Float64(1)}},
					"The value NaN for parameter MetricData.member.1.StatisticValues.Sum is invalid."},
			} {
				_, err := c.PutMetricData(e.ctx, &cw.PutMetricDataInput{Namespace: aws.String("QN"), MetricData: []types.MetricDatum{tt.datum}})
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" || ae.ErrorMessage() != tt.want {
					t.Errorf("PutMetricData: %v, want InvalidParameterValue %q", err, tt.want)
				}
			}
			if ms := e.metrics.ListMetrics(metrics.MetricFilter{}); len(ms) != 0 {
				t.Errorf("stored %v", ms)
			}
		})
	}
}

// TestNonFiniteThreshold: PutMetricAlarm's Threshold, the one double of
// CloudWatch's requests besides PutMetricData's values, is refused when NaN
// or infinite with a ValidationError that names it (it was a
// SerializationException), in every protocol, and changes nothing: an
// existing alarm keeps its configuration and history, a new one is not
// created.
func TestNonFiniteThreshold(t *testing.T) {
	for _, protocol := range []string{"json", "cbor", "query"} {
		t.Run(protocol, func(t *testing.T) {
			e := newEnv(t)
			c := sdkClient(e, protocol)
			alarm := func(name string, threshold float64) *cw.PutMetricAlarmInput {
				return &cw.PutMetricAlarmInput{
					AlarmName: aws.String(name), Namespace: aws.String("Custom/SDK"), MetricName: aws.String("Latency"),
					Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
					Threshold: aws.Float64(threshold), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
					Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
				}
			}
			if _, err := c.PutMetricAlarm(e.ctx, alarm("kept", 30)); err != nil {
				t.Fatal(err)
			}
			before, err := c.DescribeAlarms(e.ctx, &cw.DescribeAlarmsInput{})
			if err != nil || len(before.MetricAlarms) != 1 {
				t.Fatalf("DescribeAlarms: %+v %v", before, err)
			}
			e.setNow(start.Add(time.Minute))
			for _, tt := range []struct {
				name string
				v    float64
				want string
			}{
				{"kept", math.NaN(), "The value NaN for parameter Threshold is invalid."},
				{"kept", math.Inf(1), "The value Infinity for parameter Threshold is invalid."},
				{"new", math.Inf(-1), "The value -Infinity for parameter Threshold is invalid."},
			} {
				_, err := c.PutMetricAlarm(e.ctx, alarm(tt.name, tt.v))
				// The SDK's model has a ValidationException whose awsQuery
				// code is ValidationError; its awsQuery deserializer finds
				// the type by the code but keeps the type's ErrorCode().
				code := "ValidationError"
				if protocol == "query" {
					code = "ValidationException"
				}
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != tt.want {
					t.Errorf("PutMetricAlarm %s Threshold %v: %v, want %s %q", tt.name, tt.v, err, code, tt.want)
				}
			}
			after, err := c.DescribeAlarms(e.ctx, &cw.DescribeAlarmsInput{})
			if err != nil {
				t.Fatal(err)
			}
			if len(after.MetricAlarms) != 1 || !reflect.DeepEqual(after.MetricAlarms[0], before.MetricAlarms[0]) {
				t.Errorf("alarms changed:\n got %+v\nwant %+v", after.MetricAlarms, before.MetricAlarms)
			}
			hist, err := c.DescribeAlarmHistory(e.ctx, &cw.DescribeAlarmHistoryInput{})
			if err != nil || len(hist.AlarmHistoryItems) != 1 || aws.ToString(hist.AlarmHistoryItems[0].HistorySummary) != "Alarm \"kept\" created" {
				var got []string
				for _, it := range hist.AlarmHistoryItems {
					got = append(got, aws.ToString(it.HistorySummary))
				}
				t.Errorf("history %q %v, want only the creation", got, err)
			}
		})
	}
}

// TestListMetricsOwningAccounts: with IncludeLinkedAccounts, ListMetrics
// answers OwningAccounts, the account of each metric (the caller's: there
// are no linked accounts), on every page; without it, none.
func TestListMetricsOwningAccounts(t *testing.T) {
	for _, protocol := range []string{"json", "cbor", "query"} {
		t.Run(protocol, func(t *testing.T) {
			e := newEnv(t)
			c := sdkClient(e, protocol)
			data := make([]types.MetricDatum, 501) // two pages of ListMetrics
			for i := range data {
				data[i] = types.MetricDatum{MetricName: aws.String("M"), Value: aws.Float64(1),
					Dimensions: []types.Dimension{{Name: aws.String("N"), Value: aws.String(strconv.Itoa(i))}}}
			}
			if _, err := c.PutMetricData(e.ctx, &cw.PutMetricDataInput{Namespace: aws.String("Custom/Owners"), MetricData: data}); err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				name          string
				in            cw.ListMetricsInput
				metrics, owns []int // per page
			}{
				{"without", cw.ListMetricsInput{}, []int{500, 1}, []int{0, 0}},
				{"linked", cw.ListMetricsInput{IncludeLinkedAccounts: aws.Bool(true)}, []int{500, 1}, []int{500, 1}},
				{"own account", cw.ListMetricsInput{IncludeLinkedAccounts: aws.Bool(true), OwningAccount: aws.String(api.DefaultAccount)}, []int{500, 1}, []int{500, 1}},
				{"other account", cw.ListMetricsInput{IncludeLinkedAccounts: aws.Bool(true), OwningAccount: aws.String("111122223333")}, []int{0}, []int{0}},
			} {
				in := tt.in
				in.Namespace = aws.String("Custom/Owners")
				var metrics, owns []int
				p := cw.NewListMetricsPaginator(c, &in)
				for p.HasMorePages() {
					if len(metrics) > 3 {
						t.Fatal("too many pages")
					}
					out, err := p.NextPage(e.ctx)
					if err != nil {
						t.Fatal(err)
					}
					metrics, owns = append(metrics, len(out.Metrics)), append(owns, len(out.OwningAccounts))
					for _, a := range out.OwningAccounts {
						if a != api.DefaultAccount {
							t.Errorf("%s: OwningAccounts holds %q, want %s", tt.name, a, api.DefaultAccount)
							break
						}
					}
				}
				if !reflect.DeepEqual(metrics, tt.metrics) || !reflect.DeepEqual(owns, tt.owns) {
					t.Errorf("%s: pages of %v metrics and %v owning accounts, want %v and %v", tt.name, metrics, owns, tt.metrics, tt.owns)
				}
			}
		})
	}
}
