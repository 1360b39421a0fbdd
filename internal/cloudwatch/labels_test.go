package cloudwatch_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/inferscale/inferscale/internal/api"
)

// TestDynamicLabels: GetMetricData expands the dynamic labels of a query's
// Label over the datapoints it returns across the time range (the same on
// every page), with the metric's properties, in every protocol; what is
// not a dynamic label is left as written.
func TestDynamicLabels(t *testing.T) {
	for _, protocol := range []string{"json", "cbor", "query"} {
		t.Run(protocol, func(t *testing.T) {
			e := newEnv(t)
			c := sdkClient(e, protocol)
			dims := func(host string) []types.Dimension {
				return []types.Dimension{{Name: aws.String("Host"), Value: aws.String(host)}, {Name: aws.String("Zone"), Value: aws.String("z1")}}
			}
			_, err := c.PutMetricData(e.ctx, &cw.PutMetricDataInput{Namespace: aws.String("Custom/Labels"), MetricData: []types.MetricDatum{
				{MetricName: aws.String("Latency"), Dimensions: dims("a"), Timestamp: aws.Time(at("09:57:10")), Value: aws.Float64(1.5)},
				{MetricName: aws.String("Latency"), Dimensions: dims("a"), Timestamp: aws.Time(at("09:58:10")), Value: aws.Float64(4)},
				{MetricName: aws.String("Latency"), Dimensions: dims("a"), Timestamp: aws.Time(at("09:59:10")), Value: aws.Float64(0.5)},
				{MetricName: aws.String("Latency"), Dimensions: dims("b"), Timestamp: aws.Time(at("09:58:30")), Value: aws.Float64(7)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			metric := func(name, host, stat string) *types.MetricStat {
				return &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Custom/Labels"), MetricName: aws.String(name), Dimensions: dims(host)},
					Period: aws.Int32(60), Stat: aws.String(stat)}
			}
			queries := []types.MetricDataQuery{
				{Id: aws.String("m"), MetricStat: metric("Latency", "a", "Average"),
					Label: aws.String("${LABEL} avg ${AVG} max ${MAX} min ${MIN} sum ${SUM} first ${FIRST} last ${LAST} n ${DATAPOINT_COUNT}")},
				{Id: aws.String("props"), MetricStat: metric("Latency", "a", "Maximum"),
					Label: aws.String("${PROP('Namespace')}/${PROP('MetricName')} ${PROP('Stat')} ${PROP('Period')}s host=${PROP('Dim.Host')} rack=${PROP('Dim.Rack')} ${PROP('AccountId')} ${PROP('Region')}")},
				{Id: aws.String("e"), Expression: aws.String("m * 1000"),
					Label: aws.String("${LABEL}: [${PROP('MetricName')}] ${MAX} ${UNKNOWN} ${PROP('AccountLabel')} $ {AVG} ${${MIN}} ${AVG")},
				{Id: aws.String("third"), Expression: aws.String("(m - 1) / 3"),
					Label: aws.String("${MIN} ${MAX} ${FIRST_LAST_RANGE} ${PROP('Period')}")},
				{Id: aws.String("tiny"), Expression: aws.String("m / 10000000"), Label: aws.String("${MIN} ${MAX}")},
				{Id: aws.String("none"), MetricStat: metric("Nothing", "a", "Sum"), Label: aws.String("${LABEL} avg=${AVG} sum=${SUM} last=${LAST} n=${DATAPOINT_COUNT}")},
				{Id: aws.String("plain"), MetricStat: metric("Latency", "b", "Sum")},
				{Id: aws.String("srv_a"), MetricStat: metric("Latency", "a", "Sum"), Label: aws.String("A"), ReturnData: aws.Bool(false)},
				{Id: aws.String("srv_b"), MetricStat: metric("Latency", "b", "Sum"), ReturnData: aws.Bool(false)},
				// A dynamic label on an array applies to each series, ${LABEL}
				// being the series' own.
				{Id: aws.String("hosts"), Expression: aws.String("METRICS(\"srv_\") * 2"), Label: aws.String("${LABEL} peak ${MAX} on ${PROP('Dim.Host')}")},
			}
			want := map[string][]string{
				"m":     {"Latency avg 2 max 4 min 0.5 sum 6 first 1.5 last 0.5 n 3"},
				"props": {"Custom/Labels/Latency Maximum 60s host=a rack= " + api.DefaultAccount + " us-east-1"},
				"e":     {"e: [] 4000 ${UNKNOWN} ${PROP('AccountLabel')} $ {AVG} ${500} ${AVG"},
				"third": {"-0.16666666666666666 1 -0.3333333333333333 60"},
				"tiny":  {"5e-8 4e-7"},
				"none":  {"Nothing avg= sum= last= n=0"},
				"plain": {"Latency"},
				"hosts": {"A peak 8 on a", "Latency peak 14 on b"},
			}
			for _, scan := range []types.ScanBy{types.ScanByTimestampDescending, types.ScanByTimestampAscending} {
				// One datapoint a page: every page labels its results the same.
				p := cw.NewGetMetricDataPaginator(c, &cw.GetMetricDataInput{
					StartTime: aws.Time(at("09:56:00")), EndTime: aws.Time(at("10:00:00")), ScanBy: scan, MaxDatapoints: aws.Int32(1),
					MetricDataQueries: queries,
				})
				pages := 0
				for ; p.HasMorePages(); pages++ {
					if pages > 40 {
						t.Fatal("too many pages")
					}
					out, err := p.NextPage(e.ctx)
					if err != nil {
						t.Fatal(err)
					}
					got := map[string][]string{}
					for _, r := range out.MetricDataResults {
						got[aws.ToString(r.Id)] = append(got[aws.ToString(r.Id)], aws.ToString(r.Label))
					}
					for id, labels := range want {
						if g := got[id]; !slices.Equal(g, labels) {
							t.Errorf("%s page %d: %s labels %q, want %q", scan, pages, id, g, labels)
						}
					}
				}
				if pages < 10 {
					t.Errorf("%s: %d pages, want one a datapoint", scan, pages)
				}
			}
		})
	}
}
