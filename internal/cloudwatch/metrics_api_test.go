package cloudwatch_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	codeValue       = "InvalidParameterValueException"
	codeCombination = "InvalidParameterCombinationException"
	codeMissing     = "MissingRequiredParameterException"
	codeValidation  = "ValidationError"
	codeToken       = "InvalidNextToken"
)

func at(hhmmss string) time.Time {
	t, err := time.Parse("15:04:05", hhmmss)
	if err != nil {
		panic(err)
	}
	return time.Date(start.Year(), start.Month(), start.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

var hostA = []obj{{"Name": "Host", "Value": "a"}}

func TestPutAndGetMetricStatistics(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricData", obj{"Namespace": "Custom/App", "MetricData": []obj{
		{"MetricName": "Latency", "Dimensions": hostA, "Timestamp": epoch(at("09:50:10")), "Value": 10, "Unit": "Milliseconds"},
		{"MetricName": "Latency", "Dimensions": hostA, "Timestamp": epoch(at("09:50:40")), "Value": 30, "Unit": "Milliseconds"},
		{"MetricName": "Latency", "Dimensions": hostA, "Timestamp": epoch(at("09:51:20")), "Values": []float64{1, 2, 3}, "Counts": []float64{1, 1, 2}, "Unit": "Milliseconds"},
		{"MetricName": "Latency", "Dimensions": hostA, "Timestamp": epoch(at("09:52:00")), "StatisticValues": obj{"SampleCount": 4, "Sum": 40, "Minimum": 5, "Maximum": 15}, "Unit": "Milliseconds"},
	}})
	out := e.ok("GetMetricStatistics", obj{
		"Namespace": "Custom/App", "MetricName": "Latency", "Dimensions": hostA,
		"StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("09:53:00")), "Period": 60,
		"Statistics": []string{"Sum", "SampleCount", "Average", "Minimum", "Maximum"},
	})
	if out["Label"] != "Latency" {
		t.Errorf("Label %v", out["Label"])
	}
	want := []struct {
		ts                  time.Time
		sum, n, avg, mn, mx float64
	}{
		{at("09:50:00"), 40, 2, 20, 10, 30},
		{at("09:51:00"), 9, 4, 2.25, 1, 3},
		{at("09:52:00"), 40, 4, 10, 5, 15},
	}
	dps := list(out, "Datapoints")
	if len(dps) != len(want) {
		t.Fatalf("datapoints %v", dps)
	}
	for i, w := range want {
		dp := dps[i]
		if dp["Timestamp"] != epoch(w.ts) || dp["Sum"] != w.sum || dp["SampleCount"] != w.n || dp["Average"] != w.avg ||
			dp["Minimum"] != w.mn || dp["Maximum"] != w.mx || dp["Unit"] != "Milliseconds" {
			t.Errorf("datapoint %d: %v, want %+v", i, dp, w)
		}
	}

	// Percentiles: raw values and Values/Counts have them; a statistic set
	// with differing values does not.
	out = e.ok("GetMetricStatistics", obj{
		"Namespace": "Custom/App", "MetricName": "Latency", "Dimensions": hostA,
		"StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("09:53:00")), "Period": 60,
		"ExtendedStatistics": []string{"p50", "p99.9"},
	})
	dps = list(out, "Datapoints")
	if len(dps) != 3 {
		t.Fatalf("datapoints %v", dps)
	}
	ext, _ := dps[1]["ExtendedStatistics"].(map[string]any)
	if p50, _ := ext["p50"].(float64); math.Abs(p50-2) > 0.05 {
		t.Errorf("p50 of 1,2,3,3 = %v", ext["p50"])
	}
	if p999, _ := ext["p99.9"].(float64); math.Abs(p999-3) > 0.05 {
		t.Errorf("p99.9 of 1,2,3,3 = %v", ext["p99.9"])
	}
	if _, ok := dps[2]["ExtendedStatistics"]; ok {
		t.Errorf("percentiles of a statistic set with differing values: %v", dps[2])
	}
	if _, ok := dps[1]["Sum"]; ok {
		t.Errorf("Sum returned without being asked for: %v", dps[1])
	}

	// A unit the data was not stored with selects nothing.
	out = e.ok("GetMetricStatistics", obj{
		"Namespace": "Custom/App", "MetricName": "Latency", "Dimensions": hostA,
		"StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("09:53:00")), "Period": 60,
		"Statistics": []string{"Sum"}, "Unit": "Seconds",
	})
	if dps := list(out, "Datapoints"); len(dps) != 0 {
		t.Errorf("unit Seconds: %v", dps)
	}
	// Other dimensions are another metric.
	out = e.ok("GetMetricStatistics", obj{
		"Namespace": "Custom/App", "MetricName": "Latency", "Dimensions": []obj{{"Name": "Host", "Value": "b"}},
		"StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("09:53:00")), "Period": 60, "Statistics": []string{"Sum"},
	})
	if dps := list(out, "Datapoints"); len(dps) != 0 {
		t.Errorf("host b: %v", dps)
	}
}

// TestStorageResolution: standard-resolution data sits at the start of its
// minute, high-resolution data in its 10-second period.
func TestStorageResolution(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricData", obj{"Namespace": "Custom/App", "MetricData": []obj{
		{"MetricName": "Standard", "Timestamp": epoch(at("09:50:40")), "Value": 1},
		{"MetricName": "Standard", "Timestamp": epoch(at("09:50:50")), "Value": 2, "StorageResolution": 60},
		{"MetricName": "High", "Timestamp": epoch(at("09:50:25")), "Value": 1, "StorageResolution": 1},
		{"MetricName": "High", "Timestamp": epoch(at("09:50:45")), "Value": 2, "StorageResolution": 1},
	}})
	stamps := func(name string) string {
		out := e.ok("GetMetricStatistics", obj{
			"Namespace": "Custom/App", "MetricName": name,
			"StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("09:51:00")), "Period": 10, "Statistics": []string{"Sum"},
		})
		var parts []string
		for _, dp := range list(out, "Datapoints") {
			ts := time.UnixMilli(int64(dp["Timestamp"].(float64) * 1000)).UTC()
			parts = append(parts, fmt.Sprintf("%s=%v", ts.Format("15:04:05"), dp["Sum"]))
		}
		return strings.Join(parts, " ")
	}
	if got := stamps("Standard"); got != "09:50:00=3" {
		t.Errorf("standard resolution: %s", got)
	}
	if got := stamps("High"); got != "09:50:20=1 09:50:40=2" {
		t.Errorf("high resolution: %s", got)
	}
}

func TestPutMetricDataErrors(t *testing.T) {
	e := newEnv(t)
	datum := func(kv ...any) obj {
		d := obj{"MetricName": "M"}
		for i := 0; i+1 < len(kv); i += 2 {
			d[kv[i].(string)] = kv[i+1]
		}
		return d
	}
	many := make([]obj, 1001)
	for i := range many {
		many[i] = datum("Value", 1)
	}
	tests := []struct {
		name   string
		in     obj
		code   string
		status int
		msg    string
	}{
		{"reserved namespace", obj{"Namespace": "AWS/EC2", "MetricData": []obj{datum("Value", 1)}},
			codeValue, 400, "The value AWS/EC2 for parameter Namespace is invalid"},
		{"too old", obj{"Namespace": "N", "MetricData": []obj{datum("Value", 1, "Timestamp", epoch(start.Add(-15*24*time.Hour)))}},
			codeValue, 400, "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks."},
		{"too far ahead", obj{"Namespace": "N", "MetricData": []obj{datum("Value", 1), datum("Value", 1, "Timestamp", epoch(start.Add(3*time.Hour)))}},
			codeValue, 400, "The parameter MetricData.member.2.Timestamp must specify a time no more than two hours in the future."},
		{"value and values", obj{"Namespace": "N", "MetricData": []obj{datum("Value", 1, "Values", []float64{1})}},
			codeCombination, 400, "mutually exclusive"},
		{"no value", obj{"Namespace": "N", "MetricData": []obj{datum()}},
			codeCombination, 400, "At least one of the parameters MetricData.member.1.Value"},
		{"counts mismatch", obj{"Namespace": "N", "MetricData": []obj{datum("Values", []float64{1, 2}, "Counts", []float64{1})}},
			codeValue, 400, "must be arrays of the same size"},
		{"negative count", obj{"Namespace": "N", "MetricData": []obj{datum("Values", []float64{1}, "Counts", []float64{-1})}},
			codeValue, 400, "Counts.member.1 is invalid"},
		{"statistic set", obj{"Namespace": "N", "MetricData": []obj{datum("StatisticValues", obj{"SampleCount": 2, "Sum": 3, "Minimum": 5, "Maximum": 1})}},
			codeValue, 400, "Maximum must be greater than or equal to"},
		{"huge value", obj{"Namespace": "N", "MetricData": []obj{datum("Value", 1e200)}},
			codeValue, 400, "range of -2^360 to 2^360"},
		{"storage resolution", obj{"Namespace": "N", "MetricData": []obj{datum("Value", 1, "StorageResolution", 5)}},
			codeValue, 400, "StorageResolution is invalid"},
		{"duplicate dimension", obj{"Namespace": "N", "MetricData": []obj{datum("Value", 1, "Dimensions", []obj{{"Name": "A", "Value": "1"}, {"Name": "A", "Value": "2"}})}},
			codeValue, 400, "duplicate dimension names"},
		{"too many", obj{"Namespace": "N", "MetricData": many},
			codeValue, 400, "The collection MetricData must not have a size greater than 1000."},
		{"no data", obj{"Namespace": "N"}, codeMissing, 400, "MetricData"},
		{"model: no metric name", obj{"Namespace": "N", "MetricData": []obj{{"Value": 1}}}, codeValidation, 400, "metricName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.fails("PutMetricData", tt.in, tt.code, tt.status, tt.msg) })
	}
	// A request with an invalid datum stores none of its data.
	e.fails("PutMetricData", obj{"Namespace": "Custom/Atomic", "MetricData": []obj{datum("Value", 1), datum("Value", 1, "Values", []float64{2})}},
		codeCombination, 400, "mutually exclusive")
	if ms := list(e.ok("ListMetrics", obj{"Namespace": "Custom/Atomic"}), "Metrics"); len(ms) != 0 {
		t.Errorf("a failed PutMetricData stored %v", ms)
	}
}

func TestGetMetricStatisticsErrors(t *testing.T) {
	e := newEnv(t)
	base := func(kv ...any) obj {
		in := obj{"Namespace": "N", "MetricName": "M", "StartTime": epoch(at("09:00:00")), "EndTime": epoch(at("10:00:00")),
			"Period": 60, "Statistics": []string{"Sum"}}
		for i := 0; i+1 < len(kv); i += 2 {
			in[kv[i].(string)] = kv[i+1]
		}
		return in
	}
	tests := []struct {
		name string
		in   obj
		code string
		msg  string
	}{
		{"too many datapoints", base("StartTime", epoch(at("10:00:00").Add(-1441*time.Minute))),
			codeCombination, "You have requested up to 1,441 datapoints, which exceeds the limit of 1,440."},
		{"both statistics", base("ExtendedStatistics", []string{"p99"}), codeCombination, "but not both"},
		{"no statistics", obj{"Namespace": "N", "MetricName": "M", "StartTime": epoch(at("09:00:00")), "EndTime": epoch(at("10:00:00")), "Period": 60},
			codeMissing, "Must specify either Statistics or ExtendedStatistics"},
		{"start after end", base("StartTime", epoch(at("10:00:00"))), codeValue, "The parameter StartTime must be less than the parameter EndTime."},
		{"period", base("Period", 45), codeValue, "The parameter Period must be a multiple of 60"},
		{"one-second period", base("Period", 5), codeValue, "10-second granularity"},
		{"not a percentile", obj{"Namespace": "N", "MetricName": "M", "StartTime": epoch(at("09:00:00")), "EndTime": epoch(at("10:00:00")),
			"Period": 60, "ExtendedStatistics": []string{"tm90"}}, codeValue, "ExtendedStatistics.member.1"},
		{"model: statistic", base("Statistics", []string{"Median"}), codeValidation, "statistics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.fails("GetMetricStatistics", tt.in, tt.code, 400, tt.msg) })
	}
	// Exactly 1,440 is allowed.
	e.ok("GetMetricStatistics", base("StartTime", epoch(at("10:00:00").Add(-1440*time.Minute))))
}

func TestListMetrics(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricData", obj{"Namespace": "Custom/A", "MetricData": []obj{
		{"MetricName": "Requests", "Dimensions": []obj{{"Name": "Host", "Value": "a"}, {"Name": "Zone", "Value": "z1"}}, "Value": 1},
		{"MetricName": "Requests", "Dimensions": []obj{{"Name": "Host", "Value": "b"}}, "Value": 1},
		{"MetricName": "Errors", "Dimensions": []obj{{"Name": "Host", "Value": "a"}}, "Value": 1},
		{"MetricName": "Old", "Value": 1, "Timestamp": epoch(start.Add(-4 * time.Hour))},
	}})
	e.ok("PutMetricData", obj{"Namespace": "Custom/B", "MetricData": []obj{{"MetricName": "Requests", "Value": 1}}})
	names := func(in obj) string {
		var parts []string
		for _, m := range list(e.ok("ListMetrics", in), "Metrics") {
			s := m["Namespace"].(string) + ":" + m["MetricName"].(string)
			for _, d := range list(m, "Dimensions") {
				s += fmt.Sprintf(",%s=%s", d["Name"], d["Value"])
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		in   obj
		want string
	}{
		{obj{}, "Custom/A:Errors,Host=a Custom/A:Old Custom/A:Requests,Host=a,Zone=z1 Custom/A:Requests,Host=b Custom/B:Requests"},
		{obj{"Namespace": "Custom/B"}, "Custom/B:Requests"},
		{obj{"MetricName": "Requests"}, "Custom/A:Requests,Host=a,Zone=z1 Custom/A:Requests,Host=b Custom/B:Requests"},
		{obj{"Dimensions": []obj{{"Name": "Host"}}}, "Custom/A:Errors,Host=a Custom/A:Requests,Host=a,Zone=z1 Custom/A:Requests,Host=b"},
		{obj{"Dimensions": []obj{{"Name": "Host", "Value": "a"}}, "MetricName": "Requests"}, "Custom/A:Requests,Host=a,Zone=z1"},
		{obj{"Namespace": "Custom/A", "RecentlyActive": "PT3H"}, "Custom/A:Errors,Host=a Custom/A:Requests,Host=a,Zone=z1 Custom/A:Requests,Host=b"},
		{obj{"Namespace": "Custom/None"}, ""},
	}
	for _, tt := range tests {
		if got := names(tt.in); got != tt.want {
			t.Errorf("ListMetrics %v:\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}

	// 501 series: a page of 500 and one of 1.
	var data []obj
	for i := range 501 {
		data = append(data, obj{"MetricName": fmt.Sprintf("M%03d", i), "Value": 1})
	}
	e.ok("PutMetricData", obj{"Namespace": "Custom/Many", "MetricData": data})
	page := e.ok("ListMetrics", obj{"Namespace": "Custom/Many"})
	tok, _ := page["NextToken"].(string)
	if ms := list(page, "Metrics"); len(ms) != 500 || tok == "" || ms[499]["MetricName"] != "M499" {
		t.Fatalf("first page: %d metrics, token %q", len(ms), tok)
	}
	page = e.ok("ListMetrics", obj{"Namespace": "Custom/Many", "NextToken": tok})
	if ms := list(page, "Metrics"); len(ms) != 1 || ms[0]["MetricName"] != "M500" || page["NextToken"] != nil {
		t.Errorf("second page: %v", page)
	}
	e.fails("ListMetrics", obj{"NextToken": "!!not-a-token"}, codeToken, 400, "NextToken")
}

// seedRequests puts Requests (Sum 10..50) and Errors (1, 0, 3, none, 5)
// for the five minutes 09:55 to 09:59.
func seedRequests(e *env) {
	var data []obj
	errs := []float64{1, 0, 3, -1, 5}
	for i := range 5 {
		ts := epoch(at("09:55:00").Add(time.Duration(i)*time.Minute + 30*time.Second))
		data = append(data, obj{"MetricName": "Requests", "Value": 10 * float64(i+1), "Timestamp": ts})
		if errs[i] >= 0 {
			data = append(data, obj{"MetricName": "Errors", "Value": errs[i], "Timestamp": ts})
		}
	}
	e.ok("PutMetricData", obj{"Namespace": "Custom/Web", "MetricData": data})
}

func metricStat(id, name string, returnData bool) obj {
	return obj{"Id": id, "ReturnData": returnData, "MetricStat": obj{
		"Metric": obj{"Namespace": "Custom/Web", "MetricName": name}, "Period": 60, "Stat": "Sum"}}
}

// points renders a MetricDataResult as "HH:MM=value ...".
func points(r map[string]any) string {
	ts, _ := r["Timestamps"].([]any)
	vs, _ := r["Values"].([]any)
	var parts []string
	for i := range ts {
		t := time.UnixMilli(int64(ts[i].(float64) * 1000)).UTC()
		parts = append(parts, fmt.Sprintf("%s=%v", t.Format("15:04"), vs[i]))
	}
	return strings.Join(parts, " ")
}

func TestGetMetricData(t *testing.T) {
	e := newEnv(t)
	seedRequests(e)
	queries := []obj{
		metricStat("m1", "Requests", true),
		metricStat("m2", "Errors", false),
		{"Id": "e1", "Expression": "m2 / m1 * 100", "Label": "ErrorRate"},
		{"Id": "e2", "Expression": "FILL(m2, 0)"},
		{"Id": "e3", "Expression": "SUM(m1)", "Period": 60},
	}
	out := e.ok("GetMetricData", obj{"MetricDataQueries": queries, "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00"))})
	rs := list(out, "MetricDataResults")
	want := []struct{ id, label, points string }{
		{"m1", "Requests", "09:59=50 09:58=40 09:57=30 09:56=20 09:55=10"},
		{"e1", "ErrorRate", "09:59=10 09:57=10 09:56=0 09:55=10"},
		{"e2", "e2", "09:59=5 09:58=0 09:57=3 09:56=0 09:55=1"},
		{"e3", "e3", "09:59=150 09:58=150 09:57=150 09:56=150 09:55=150"},
	}
	if len(rs) != len(want) {
		t.Fatalf("results %v", rs)
	}
	for i, w := range want {
		if rs[i]["Id"] != w.id || rs[i]["Label"] != w.label || points(rs[i]) != w.points || rs[i]["StatusCode"] != "Complete" {
			t.Errorf("result %d: %v %v %s %v, want %+v", i, rs[i]["Id"], rs[i]["Label"], points(rs[i]), rs[i]["StatusCode"], w)
		}
	}

	// Oldest first.
	out = e.ok("GetMetricData", obj{"MetricDataQueries": queries[:1], "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00")), "ScanBy": "TimestampAscending"})
	if got := points(list(out, "MetricDataResults")[0]); got != "09:55=10 09:56=20 09:57=30 09:58=40 09:59=50" {
		t.Errorf("ascending: %s", got)
	}

	// AccountId: the caller's own reads its metrics; another account's,
	// not linked to it (cross-account observability), reads nothing.
	for _, tt := range []struct{ account, points string }{
		{"123456789012", "09:55=10 09:56=20 09:57=30 09:58=40 09:59=50"},
		{"444455556666", ""},
	} {
		q := metricStat("m1", "Requests", true)
		q["AccountId"] = tt.account
		out = e.ok("GetMetricData", obj{"MetricDataQueries": []obj{q}, "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00")), "ScanBy": "TimestampAscending"})
		if r := list(out, "MetricDataResults")[0]; points(r) != tt.points || r["StatusCode"] != "Complete" {
			t.Errorf("AccountId %s: %s %v, want %q", tt.account, points(r), r["StatusCode"], tt.points)
		}
	}

	// Pages of 3 datapoints hold, together, what one page holds.
	var got []string
	tok := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("too many pages")
		}
		in := obj{"MetricDataQueries": queries, "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00")), "MaxDatapoints": 3}
		if tok != "" {
			in["NextToken"] = tok
		}
		out := e.ok("GetMetricData", in)
		n := 0
		for _, r := range list(out, "MetricDataResults") {
			if p := points(r); p != "" {
				got = append(got, r["Id"].(string)+":"+p)
				n += strings.Count(p, "=")
			}
		}
		if n > 3 {
			t.Errorf("page %d has %d datapoints", page, n)
		}
		tok, _ = out["NextToken"].(string)
		if tok == "" {
			break
		}
	}
	joined := strings.Join(got, " ")
	for _, w := range want {
		for _, p := range strings.Fields(w.points) {
			if !strings.Contains(joined, p) {
				t.Errorf("paged results miss %s of %s: %s", p, w.id, joined)
			}
		}
	}

	// Division by zero drops datapoints and says so.
	out = e.ok("GetMetricData", obj{"MetricDataQueries": []obj{metricStat("m1", "Requests", false), metricStat("m2", "Errors", false),
		{"Id": "e1", "Expression": "m1 / m2"}}, "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00"))})
	r := list(out, "MetricDataResults")[0]
	msgs := list(r, "Messages")
	if points(r) != "09:59=10 09:57=10 09:55=10" || len(msgs) != 1 || msgs[0]["Code"] != "ArithmeticError" {
		t.Errorf("division by zero: %s %v", points(r), msgs)
	}

	// A number from metrics with one period is spread over their grid.
	out = e.ok("GetMetricData", obj{"MetricDataQueries": []obj{metricStat("m1", "Requests", false), {"Id": "peak", "Expression": "MAX(m1)"}},
		"StartTime": epoch(at("09:58:00")), "EndTime": epoch(at("10:00:00"))})
	if r := list(out, "MetricDataResults"); len(r) != 1 || points(r[0]) != "09:59=50 09:58=50" {
		t.Errorf("MAX(m1): %v", r)
	}
	e.fails("GetMetricData", obj{"MetricDataQueries": []obj{{"Id": "one", "Expression": "1 + 1"}}, "StartTime": epoch(at("09:58:00")), "EndTime": epoch(at("10:00:00"))},
		codeValue, 400, "set the query's Period")

	// METRICS() returns one result per metric.
	out = e.ok("GetMetricData", obj{"MetricDataQueries": []obj{metricStat("m1", "Requests", false), metricStat("m2", "Errors", false),
		{"Id": "all", "Expression": "METRICS() * 2"}}, "StartTime": epoch(at("09:58:00")), "EndTime": epoch(at("10:00:00"))})
	rs = list(out, "MetricDataResults")
	if len(rs) != 2 || rs[0]["Id"] != "all" || rs[0]["Label"] != "Requests" || points(rs[0]) != "09:59=100 09:58=80" || points(rs[1]) != "09:59=10" {
		t.Errorf("METRICS(): %v", rs)
	}
}

func TestGetMetricDataErrors(t *testing.T) {
	e := newEnv(t)
	seedRequests(e)
	in := func(qs ...obj) obj {
		return obj{"MetricDataQueries": qs, "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00"))}
	}
	m1 := metricStat("m1", "Requests", true)
	badStat := metricStat("m2", "Requests", true)
	badStat["MetricStat"].(obj)["Stat"] = "tm90"
	tests := []struct {
		name string
		in   obj
		code string
		msg  string
	}{
		{"syntax", in(m1, obj{"Id": "e1", "Expression": "m1 +"}), codeValue, "Error in expression e1: unexpected end of expression"},
		{"unknown id", in(m1, obj{"Id": "e1", "Expression": "m1 + m7"}), codeValue, "Unrecognized metric id m7"},
		{"cycle", in(m1, obj{"Id": "e1", "Expression": "e2 + 1"}, obj{"Id": "e2", "Expression": "e1 * 2"}), codeValue, "circular reference"},
		{"duplicate id", in(m1, m1), codeValue, "must be unique"},
		{"bad id", in(obj{"Id": "M1", "Expression": "1"}), codeValue, "MetricDataQueries.member.1.Id is invalid"},
		{"both", in(obj{"Id": "x", "Expression": "1", "MetricStat": m1["MetricStat"]}), codeCombination, "mutually exclusive"},
		{"neither", in(obj{"Id": "x"}), codeMissing, "MetricStat or MetricDataQueries.member.1.Expression"},
		{"statistic", in(badStat), codeValue, "MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic"},
		{"time range", obj{"MetricDataQueries": []obj{m1}, "StartTime": epoch(at("10:00:00")), "EndTime": epoch(at("09:00:00"))},
			codeValue, "StartTime must be less than"},
		{"token", obj{"MetricDataQueries": []obj{m1}, "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00")), "NextToken": "abc"},
			codeToken, "NextToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.fails("GetMetricData", tt.in, tt.code, http.StatusBadRequest, tt.msg) })
	}
	// A token is only good for the request it came from.
	page := e.ok("GetMetricData", obj{"MetricDataQueries": []obj{m1}, "StartTime": epoch(at("09:55:00")), "EndTime": epoch(at("10:00:00")), "MaxDatapoints": 2})
	tok, _ := page["NextToken"].(string)
	if tok == "" {
		t.Fatal("no NextToken with MaxDatapoints 2")
	}
	e.fails("GetMetricData", obj{"MetricDataQueries": []obj{m1}, "StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("10:00:00")), "MaxDatapoints": 2, "NextToken": tok},
		codeToken, 400, "NextToken")
}

// TestUnits: data put with different units is kept apart. Without Unit,
// GetMetricStatistics returns each unit's datapoints; with Unit, only that
// unit's (None: the data put without a unit). GetMetricData merges the
// units unless its MetricStat names one.
func TestUnits(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricData", obj{"Namespace": "QA/U", "MetricData": []obj{
		{"MetricName": "U", "Timestamp": epoch(at("09:50:00")), "Value": 1, "Unit": "Seconds"},
		{"MetricName": "U", "Timestamp": epoch(at("09:50:00")), "Value": 1000, "Unit": "Milliseconds"},
		{"MetricName": "U", "Timestamp": epoch(at("09:50:00")), "Value": 7},
	}})
	stats := func(unit string) string {
		in := obj{"Namespace": "QA/U", "MetricName": "U", "StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("09:51:00")),
			"Period": 60, "Statistics": []string{"Sum"}}
		if unit != "" {
			in["Unit"] = unit
		}
		var got []string
		for _, dp := range list(e.ok("GetMetricStatistics", in), "Datapoints") {
			got = append(got, fmt.Sprintf("%v %v", dp["Sum"], dp["Unit"]))
		}
		return strings.Join(got, ", ")
	}
	for unit, want := range map[string]string{
		"":             "1 Seconds, 1000 Milliseconds, 7 None",
		"Seconds":      "1 Seconds",
		"Milliseconds": "1000 Milliseconds",
		"None":         "7 None",
		"Percent":      "",
	} {
		if got := stats(unit); got != want {
			t.Errorf("GetMetricStatistics Unit %q: %s, want %s", unit, got, want)
		}
	}
	data := func(unit string) []any {
		ms := obj{"Metric": obj{"Namespace": "QA/U", "MetricName": "U"}, "Period": 60, "Stat": "Sum"}
		if unit != "" {
			ms["Unit"] = unit
		}
		out := e.ok("GetMetricData", obj{"StartTime": epoch(at("09:50:00")), "EndTime": epoch(at("09:51:00")),
			"MetricDataQueries": []obj{{"Id": "m", "MetricStat": ms}}})
		vals, _ := list(out, "MetricDataResults")[0]["Values"].([]any)
		return vals
	}
	if got := data(""); len(got) != 1 || got[0] != 1008.0 {
		t.Errorf("GetMetricData without Unit: %v, want [1008]", got)
	}
	if got := data("Milliseconds"); len(got) != 1 || got[0] != 1000.0 {
		t.Errorf("GetMetricData Unit Milliseconds: %v, want [1000]", got)
	}
	if got := data("None"); len(got) != 1 || got[0] != 7.0 {
		t.Errorf("GetMetricData Unit None: %v, want [7]", got)
	}
}

// TestNonFiniteQuery: the query protocol's Value=NaN is refused as the
// JSON protocols' "NaN" is.
func TestNonFiniteQuery(t *testing.T) {
	e := newEnv(t)
	for _, v := range []string{"NaN", "Infinity", "-Infinity"} {
		body := "Action=PutMetricData&Version=2010-08-01&Namespace=QN&MetricData.member.1.MetricName=M&MetricData.member.1.Value=" + v
		resp, err := e.srv.Client().Post(e.srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "<Code>InvalidParameterValue</Code><Message>The value " + v + " for parameter MetricData.member.1.Value is invalid.</Message>"
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), want) {
			t.Errorf("Value=%s: %d %s, want 400 with %s", v, resp.StatusCode, b, want)
		}
	}
}

// TestHighResolutionRetention: sub-minute periods show only the last 3
// hours, as CloudWatch keeps sub-minute data; minute periods show it all.
func TestHighResolutionRetention(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricData", obj{"Namespace": "QH", "MetricData": []obj{
		{"MetricName": "H", "Timestamp": epoch(start.Add(-3*time.Hour - 10*time.Minute)), "Value": 1, "StorageResolution": 1},
		{"MetricName": "H", "Timestamp": epoch(start.Add(-10 * time.Minute)), "Value": 2, "StorageResolution": 1},
	}})
	for _, tt := range []struct {
		period int
		want   float64
	}{{10, 2}, {60, 3}} {
		out := e.ok("GetMetricStatistics", obj{"Namespace": "QH", "MetricName": "H", "StartTime": epoch(start.Add(-4 * time.Hour)),
			"EndTime": epoch(start), "Period": tt.period, "Statistics": []string{"Sum"}})
		sum := 0.0
		for _, dp := range list(out, "Datapoints") {
			sum += dp["Sum"].(float64)
		}
		if sum != tt.want {
			t.Errorf("Period %d: Sum %v, want %v", tt.period, sum, tt.want)
		}
		data := e.ok("GetMetricData", obj{"StartTime": epoch(start.Add(-4 * time.Hour)), "EndTime": epoch(start),
			"MetricDataQueries": []obj{{"Id": "m", "MetricStat": obj{"Metric": obj{"Namespace": "QH", "MetricName": "H"}, "Period": tt.period, "Stat": "Sum"}}}})
		vals, _ := list(data, "MetricDataResults")[0]["Values"].([]any)
		sum = 0
		for _, v := range vals {
			sum += v.(float64)
		}
		if sum != tt.want {
			t.Errorf("GetMetricData Period %d: Sum %v, want %v", tt.period, sum, tt.want)
		}
	}
}

// TestDatapointLimit: the 1,440 datapoints are counted over the time range
// as given: the last day at Period 60 is within the limit though now is
// not on a minute.
func TestDatapointLimit(t *testing.T) {
	e := newEnv(t)
	now := start.Add(30*time.Second + 500*time.Millisecond)
	e.setNow(now)
	in := obj{"Namespace": "QL", "MetricName": "L", "StartTime": epoch(now.Add(-1440 * time.Minute)), "EndTime": epoch(now),
		"Period": 60, "Statistics": []string{"Sum"}}
	e.ok("GetMetricStatistics", in)
	in["StartTime"] = epoch(now.Add(-1441 * time.Minute))
	e.fails("GetMetricStatistics", in, codeCombination, http.StatusBadRequest, "requested up to 1,441 datapoints")
}
