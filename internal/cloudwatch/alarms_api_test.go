package cloudwatch_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	scaleOutARN = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:11111111-2222-3333-4444-555555555555:resource/sagemaker/endpoint/E/variant/V:policyName/out"
	scaleInARN  = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:11111111-2222-3333-4444-666666666666:resource/sagemaker/endpoint/E/variant/V:policyName/in"
	topicARN    = "arn:aws:sns:us-east-1:123456789012:ops"
	account     = "123456789012"
	region      = "us-east-1"
)

// cpuAlarm is a PutMetricAlarm input: Average of Custom/App CPU over 3
// minutes above 70.
func cpuAlarm(name string, kv ...any) obj {
	in := obj{
		"AlarmName": name, "Namespace": "Custom/App", "MetricName": "CPU", "Dimensions": hostA,
		"Statistic": "Average", "Period": 60, "EvaluationPeriods": 3, "Threshold": 70,
		"ComparisonOperator": "GreaterThanThreshold", "AlarmActions": []string{scaleOutARN}, "OKActions": []string{scaleInARN},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(in, kv[i].(string))
			continue
		}
		in[kv[i].(string)] = kv[i+1]
	}
	return in
}

// alarmNamed describes one alarm.
func (e *env) alarmNamed(name string) map[string]any {
	e.t.Helper()
	as := list(e.ok("DescribeAlarms", obj{"AlarmNames": []string{name}}), "MetricAlarms")
	if len(as) != 1 {
		e.t.Fatalf("DescribeAlarms %s: %v", name, as)
	}
	return as[0]
}

func alarmNames(body map[string]any) string {
	var names []string
	for _, a := range list(body, "MetricAlarms") {
		names = append(names, a["AlarmName"].(string))
	}
	return strings.Join(names, " ")
}

func TestPutMetricAlarm(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("cpu-high", "Tags", []obj{{"Key": "team", "Value": "ml"}}))
	a := e.alarmNamed("cpu-high")
	want := map[string]any{
		"AlarmArn":                           "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high",
		"StateValue":                         "INSUFFICIENT_DATA",
		"StateReason":                        "Unchecked: Initial alarm creation",
		"ActionsEnabled":                     true,
		"Statistic":                          "Average",
		"Period":                             60.0,
		"EvaluationPeriods":                  3.0,
		"Threshold":                          70.0,
		"ComparisonOperator":                 "GreaterThanThreshold",
		"AlarmConfigurationUpdatedTimestamp": epoch(start),
		"StateUpdatedTimestamp":              epoch(start),
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("%s = %v, want %v", k, a[k], v)
		}
	}

	// An update replaces the configuration and keeps the state; its tags
	// are ignored.
	e.ok("SetAlarmState", obj{"AlarmName": "cpu-high", "StateValue": "OK", "StateReason": "testing"})
	e.setNow(start.Add(time.Minute))
	e.ok("PutMetricAlarm", cpuAlarm("cpu-high", "Threshold", 90, "AlarmDescription", "hot", "Tags", []obj{{"Key": "ignored", "Value": "x"}}))
	a = e.alarmNamed("cpu-high")
	if a["Threshold"] != 90.0 || a["AlarmDescription"] != "hot" || a["StateValue"] != "OK" || a["StateReason"] != "testing" ||
		a["AlarmConfigurationUpdatedTimestamp"] != epoch(start.Add(time.Minute)) || a["StateUpdatedTimestamp"] != epoch(start) {
		t.Errorf("after update: %v", a)
	}
	tags := list(e.ok("ListTagsForResource", obj{"ResourceARN": a["AlarmArn"]}), "Tags")
	if len(tags) != 1 || tags[0]["Key"] != "team" {
		t.Errorf("tags after update: %v", tags)
	}

	// Metric math alarms.
	e.ok("PutMetricAlarm", obj{
		"AlarmName": "error-rate", "EvaluationPeriods": 2, "Threshold": 5, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
		"Metrics": []obj{
			{"Id": "e1", "Expression": "m2 / m1 * 100", "Label": "ErrorRate", "ReturnData": true},
			metricStat("m1", "Requests", false), metricStat("m2", "Errors", false),
		},
	})
	a = e.alarmNamed("error-rate")
	if ms, _ := a["Metrics"].([]any); len(ms) != 3 || a["MetricName"] != nil {
		t.Errorf("math alarm: %v", a)
	}
}

func TestPutMetricAlarmErrors(t *testing.T) {
	e := newEnv(t)
	math := func(kv ...any) obj {
		in := obj{"AlarmName": "m", "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold",
			"Metrics": []obj{{"Id": "e1", "Expression": "m1 * 2"}, metricStat("m1", "Requests", false)}}
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
		{"statistic and extended", cpuAlarm("a", "ExtendedStatistic", "p99"), codeCombination, "Exactly one of Statistic and ExtendedStatistic"},
		{"no statistic", cpuAlarm("a", "Statistic", nil), codeCombination, "Exactly one of Statistic and ExtendedStatistic"},
		{"trimmed mean", cpuAlarm("a", "Statistic", nil, "ExtendedStatistic", "tm90"), codeValidation, "not supported"},
		{"period", cpuAlarm("a", "Period", 45), codeValue, "multiple of 60"},
		{"one day", cpuAlarm("a", "Period", 300, "EvaluationPeriods", 289), codeValidation, "can be at most 86400 seconds"},
		{"seven days", cpuAlarm("a", "Period", 3600, "EvaluationPeriods", 169), codeValidation, "can be at most 604800 seconds"},
		{"datapoints to alarm", cpuAlarm("a", "DatapointsToAlarm", 4), codeValidation, "DatapointsToAlarm (4) must be less than or equal to EvaluationPeriods (3)"},
		{"no evaluation periods", cpuAlarm("a", "EvaluationPeriods", nil), codeMissing, "EvaluationPeriods"},
		{"no threshold", cpuAlarm("a", "Threshold", nil), codeMissing, "Threshold"},
		{"no operator", cpuAlarm("a", "ComparisonOperator", nil), codeMissing, "ComparisonOperator"},
		{"anomaly band", cpuAlarm("a", "ComparisonOperator", "LessThanLowerOrGreaterThanUpperThreshold"), codeValidation, "anomaly detection"},
		{"treat missing", cpuAlarm("a", "TreatMissingData", "sometimes"), codeValidation, "TreatMissingData"},
		{"action ARN", cpuAlarm("a", "AlarmActions", []string{"not-an-arn"}), codeValidation, "AlarmActions.member.1 is not a valid ARN"},
		{"no metric", obj{"AlarmName": "a", "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"}, codeMissing, "MetricName or Metrics"},
		{"metric and metrics", math("MetricName", "CPU"), codeCombination, "mutually exclusive"},
		{"two results", math("Metrics", []obj{{"Id": "e1", "Expression": "m1 * 2"}, metricStat("m1", "Requests", true)}), codeValidation, "Exactly one element of the metrics list should return data."},
		{"bad expression", math("Metrics", []obj{{"Id": "e1", "Expression": "m1 *"}, metricStat("m1", "Requests", false)}), codeValue, "Error in expression e1"},
		{"array result", math("Metrics", []obj{{"Id": "e1", "Expression": "METRICS()"}, metricStat("m1", "Requests", false), metricStat("m2", "Errors", false)}),
			codeValidation, "yields 2 time series, not one"},
		{"promql", cpuAlarm("a", "EvaluationCriteria", obj{"PromQLCriteria": obj{"Query": "up"}}), codeValidation, "PromQL"},
		{"model: too many actions", cpuAlarm("a", "OKActions", []string{topicARN, topicARN, topicARN, topicARN, topicARN, topicARN}), codeValidation, "oKActions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.fails("PutMetricAlarm", tt.in, tt.code, http.StatusBadRequest, tt.msg) })
	}
	if as := list(e.ok("DescribeAlarms", obj{}), "MetricAlarms"); len(as) != 0 {
		t.Errorf("invalid alarms were stored: %v", as)
	}
}

func TestDescribeAlarms(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"web-cpu", "web-mem", "db-cpu", "TargetTracking-endpoint/E/variant/V-AlarmHigh-1"} {
		e.ok("PutMetricAlarm", cpuAlarm(n))
	}
	e.ok("PutMetricAlarm", cpuAlarm("quiet", "AlarmActions", []string{topicARN}, "OKActions", nil))
	e.ok("SetAlarmState", obj{"AlarmName": "web-mem", "StateValue": "ALARM", "StateReason": "test"})
	tests := []struct {
		in   obj
		want string
	}{
		{obj{}, "TargetTracking-endpoint/E/variant/V-AlarmHigh-1 db-cpu quiet web-cpu web-mem"},
		{obj{"AlarmNamePrefix": "web-"}, "web-cpu web-mem"},
		{obj{"AlarmNames": []string{"web-mem", "db-cpu", "nope"}}, "db-cpu web-mem"},
		{obj{"StateValue": "ALARM"}, "web-mem"},
		{obj{"AlarmNamePrefix": "web-", "StateValue": "INSUFFICIENT_DATA"}, "web-cpu"},
		{obj{"ActionPrefix": "arn:aws:sns:"}, "quiet"},
		{obj{"AlarmTypes": []string{"CompositeAlarm"}}, ""},
		{obj{"AlarmTypes": []string{"MetricAlarm", "CompositeAlarm"}, "AlarmNamePrefix": "db"}, "db-cpu"},
		{obj{"ChildrenOfAlarmName": "web-cpu"}, ""},
	}
	for _, tt := range tests {
		if got := alarmNames(e.ok("DescribeAlarms", tt.in)); got != tt.want {
			t.Errorf("DescribeAlarms %v: %q, want %q", tt.in, got, tt.want)
		}
	}
	e.fails("DescribeAlarms", obj{"AlarmNames": []string{"a"}, "AlarmNamePrefix": "a"}, codeCombination, 400, "mutually exclusive")
	e.fails("DescribeAlarms", obj{"ChildrenOfAlarmName": "a", "StateValue": "OK"}, codeValidation, 400, "cannot be combined")
	e.fails("DescribeAlarms", obj{"NextToken": "%%%"}, codeToken, 400, "NextToken")

	// Pages of two.
	var pages []string
	tok := ""
	for range 5 {
		in := obj{"MaxRecords": 2}
		if tok != "" {
			in["NextToken"] = tok
		}
		out := e.ok("DescribeAlarms", in)
		pages = append(pages, alarmNames(out))
		tok, _ = out["NextToken"].(string)
		if tok == "" {
			break
		}
	}
	if got := strings.Join(pages, " | "); got != "TargetTracking-endpoint/E/variant/V-AlarmHigh-1 db-cpu | quiet web-cpu | web-mem" {
		t.Errorf("pages: %s", got)
	}
}

func TestDescribeAlarmsForMetric(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("avg"))
	e.ok("PutMetricAlarm", cpuAlarm("max", "Statistic", "Maximum", "Period", 300))
	e.ok("PutMetricAlarm", cpuAlarm("p99", "Statistic", nil, "ExtendedStatistic", "p99"))
	e.ok("PutMetricAlarm", cpuAlarm("other-host", "Dimensions", []obj{{"Name": "Host", "Value": "b"}}))
	e.ok("PutMetricAlarm", cpuAlarm("no-dims", "Dimensions", nil))
	tests := []struct {
		in   obj
		want string
	}{
		{obj{"Namespace": "Custom/App", "MetricName": "CPU", "Dimensions": hostA}, "avg max p99"},
		{obj{"Namespace": "Custom/App", "MetricName": "CPU", "Dimensions": hostA, "Statistic": "Maximum"}, "max"},
		{obj{"Namespace": "Custom/App", "MetricName": "CPU", "Dimensions": hostA, "Period": 60}, "avg p99"},
		{obj{"Namespace": "Custom/App", "MetricName": "CPU", "Dimensions": hostA, "ExtendedStatistic": "p99"}, "p99"},
		{obj{"Namespace": "Custom/App", "MetricName": "CPU"}, "no-dims"},
		{obj{"Namespace": "Custom/App", "MetricName": "Memory", "Dimensions": hostA}, ""},
	}
	for _, tt := range tests {
		if got := alarmNames(e.ok("DescribeAlarmsForMetric", tt.in)); got != tt.want {
			t.Errorf("DescribeAlarmsForMetric %v: %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDeleteAlarms(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("a", "Tags", []obj{{"Key": "k", "Value": "v"}}))
	e.ok("PutMetricAlarm", cpuAlarm("b"))
	arn := e.alarmNamed("a")["AlarmArn"]
	// If one does not exist, none is deleted ("In the event of an error,
	// no alarms are deleted").
	e.fails("DeleteAlarms", obj{"AlarmNames": []string{"a", "missing", "b"}}, "ResourceNotFound", http.StatusNotFound, "Alarm not found: missing")
	if got := alarmNames(e.ok("DescribeAlarms", obj{})); got != "a b" {
		t.Errorf("after a failed delete: %q", got)
	}
	e.ok("DeleteAlarms", obj{"AlarmNames": []string{"a"}})
	if got := alarmNames(e.ok("DescribeAlarms", obj{})); got != "b" {
		t.Errorf("after delete: %q", got)
	}
	e.fails("ListTagsForResource", obj{"ResourceARN": arn}, "ResourceNotFoundException", http.StatusNotFound, "does not exist")
	e.ok("DeleteAlarms", obj{"AlarmNames": []string{"b"}})
	// A recreated alarm starts afresh, without the old tags.
	e.ok("PutMetricAlarm", cpuAlarm("a"))
	if tags := list(e.ok("ListTagsForResource", obj{"ResourceARN": arn}), "Tags"); len(tags) != 0 {
		t.Errorf("recreated alarm has tags %v", tags)
	}
}

func TestSetAlarmStateAndHistory(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("cpu"))
	e.setNow(start.Add(time.Minute))
	data := `{"version":"1.0","recentDatapoints":[91.5]}`
	e.ok("SetAlarmState", obj{"AlarmName": "cpu", "StateValue": "ALARM", "StateReason": "load test", "StateReasonData": data})
	a := e.alarmNamed("cpu")
	if a["StateValue"] != "ALARM" || a["StateReason"] != "load test" || a["StateReasonData"] != data ||
		a["StateUpdatedTimestamp"] != epoch(start.Add(time.Minute)) || a["StateTransitionedTimestamp"] != epoch(start.Add(time.Minute)) {
		t.Errorf("after SetAlarmState: %v", a)
	}
	e.fails("SetAlarmState", obj{"AlarmName": "cpu", "StateValue": "OK", "StateReason": "x", "StateReasonData": "{not json"}, "InvalidFormatFault", 400, "not valid JSON")
	e.fails("SetAlarmState", obj{"AlarmName": "nope", "StateValue": "OK", "StateReason": "x"}, "ResourceNotFound", http.StatusNotFound, "Alarm nope not found")
	e.fails("SetAlarmState", obj{"AlarmName": "cpu", "StateValue": "BROKEN", "StateReason": "x"}, codeValidation, 400, "stateValue")

	e.setNow(start.Add(2 * time.Minute))
	e.ok("PutMetricAlarm", cpuAlarm("cpu", "Threshold", 80))
	e.setNow(start.Add(3 * time.Minute))
	e.ok("DeleteAlarms", obj{"AlarmNames": []string{"cpu"}})

	// History outlives the alarm; newest first by default.
	items := list(e.ok("DescribeAlarmHistory", obj{"AlarmName": "cpu"}), "AlarmHistoryItems")
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%s|%s", it["HistoryItemType"], it["HistorySummary"]))
		if !json.Valid([]byte(it["HistoryData"].(string))) || it["AlarmType"] != "MetricAlarm" {
			t.Errorf("item %v", it)
		}
	}
	want := `ConfigurationUpdate|Alarm "cpu" deleted, ConfigurationUpdate|Alarm "cpu" updated, StateUpdate|Alarm updated from INSUFFICIENT_DATA to ALARM, ConfigurationUpdate|Alarm "cpu" created`
	if strings.Join(got, ", ") != want {
		t.Errorf("history:\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
	var state struct {
		OldState struct{ StateValue string } `json:"oldState"`
		NewState struct {
			StateValue      string
			StateReason     string
			StateReasonData struct{ RecentDatapoints []float64 } `json:"stateReasonData"`
		} `json:"newState"`
	}
	if err := json.Unmarshal([]byte(items[2]["HistoryData"].(string)), &state); err != nil ||
		state.OldState.StateValue != "INSUFFICIENT_DATA" || state.NewState.StateValue != "ALARM" || state.NewState.StateReason != "load test" ||
		len(state.NewState.StateReasonData.RecentDatapoints) != 1 {
		t.Errorf("state history data %s: %+v %v", items[2]["HistoryData"], state, err)
	}

	filter := func(in obj) int { return len(list(e.ok("DescribeAlarmHistory", in), "AlarmHistoryItems")) }
	if n := filter(obj{"AlarmName": "cpu", "HistoryItemType": "StateUpdate"}); n != 1 {
		t.Errorf("StateUpdate items: %d", n)
	}
	if n := filter(obj{"StartDate": epoch(start.Add(time.Minute)), "EndDate": epoch(start.Add(2 * time.Minute))}); n != 2 {
		t.Errorf("items from 10:01 to 10:02: %d", n)
	}
	if n := filter(obj{"AlarmTypes": []string{"CompositeAlarm"}}); n != 0 {
		t.Errorf("composite alarm items: %d", n)
	}
	asc := list(e.ok("DescribeAlarmHistory", obj{"ScanBy": "TimestampAscending", "MaxRecords": 1}), "AlarmHistoryItems")
	if len(asc) != 1 || asc[0]["HistorySummary"] != `Alarm "cpu" created` {
		t.Errorf("oldest first: %v", asc)
	}
	// Pages.
	out := e.ok("DescribeAlarmHistory", obj{"MaxRecords": 3})
	tok, _ := out["NextToken"].(string)
	rest := list(e.ok("DescribeAlarmHistory", obj{"MaxRecords": 3, "NextToken": tok}), "AlarmHistoryItems")
	if len(list(out, "AlarmHistoryItems")) != 3 || len(rest) != 1 || rest[0]["HistorySummary"] != `Alarm "cpu" created` {
		t.Errorf("history pages: %v then %v", out, rest)
	}
}

func TestAlarmActionsEnabled(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("a"))
	e.ok("PutMetricAlarm", cpuAlarm("b", "ActionsEnabled", false))
	e.ok("DisableAlarmActions", obj{"AlarmNames": []string{"a", "ghost"}})
	e.ok("EnableAlarmActions", obj{"AlarmNames": []string{"b"}})
	if e.alarmNamed("a")["ActionsEnabled"] != false || e.alarmNamed("b")["ActionsEnabled"] != true {
		t.Errorf("a %v, b %v", e.alarmNamed("a")["ActionsEnabled"], e.alarmNamed("b")["ActionsEnabled"])
	}
}

func TestAlarmTags(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("a", "Tags", []obj{{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "dev"}}))
	arn := e.alarmNamed("a")["AlarmArn"].(string)
	tagString := func() string {
		var parts []string
		for _, tg := range list(e.ok("ListTagsForResource", obj{"ResourceARN": arn}), "Tags") {
			parts = append(parts, tg["Key"].(string)+"="+tg["Value"].(string))
		}
		return strings.Join(parts, " ")
	}
	if got := tagString(); got != "env=dev team=ml" {
		t.Errorf("tags %s", got)
	}
	e.ok("TagResource", obj{"ResourceARN": arn, "Tags": []obj{{"Key": "env", "Value": "prod"}, {"Key": "cost", "Value": "42"}}})
	e.ok("UntagResource", obj{"ResourceARN": arn, "TagKeys": []string{"team", "absent"}})
	if got := tagString(); got != "cost=42 env=prod" {
		t.Errorf("tags %s", got)
	}
	many := make([]obj, 49)
	for i := range many {
		many[i] = obj{"Key": fmt.Sprintf("k%d", i), "Value": "v"}
	}
	e.fails("TagResource", obj{"ResourceARN": arn, "Tags": many}, codeValue, 400, "at most 50 tags")
	if got := tagString(); got != "cost=42 env=prod" {
		t.Errorf("tags after a refused TagResource: %s", got)
	}
	// The aws: prefix is reserved, in TagResource and PutMetricAlarm.
	e.fails("TagResource", obj{"ResourceARN": arn, "Tags": []obj{{"Key": "ok", "Value": "v"}, {"Key": "aws:owner", "Value": "v"}}},
		codeValue, 400, "Tags.member.2.Key")
	e.fails("TagResource", obj{"ResourceARN": arn, "Tags": []obj{{"Key": "AWS:owner", "Value": "v"}}}, codeValue, 400, "reserved")
	if got := tagString(); got != "cost=42 env=prod" {
		t.Errorf("tags after a refused TagResource: %s", got)
	}
	e.fails("PutMetricAlarm", cpuAlarm("reserved", "Tags", []obj{{"Key": "aws:cloudformation:stack-name", "Value": "s"}}), codeValue, 400, "reserved")
	if got := alarmNames(e.ok("DescribeAlarms", obj{"AlarmNames": []string{"reserved"}})); got != "" {
		t.Errorf("alarm created with a reserved tag key: %q", got)
	}
	for _, bad := range []struct{ arn, code string }{
		{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:nope", "ResourceNotFoundException"},
		{"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a", "ResourceNotFoundException"},
		{"arn:aws:cloudwatch::123456789012:dashboard/d", "ResourceNotFoundException"},
		{"arn:aws:sqs:us-east-1:123456789012:q", codeValue},
		{"alarm:a", codeValue},
	} {
		status := http.StatusNotFound
		if bad.code == codeValue {
			status = http.StatusBadRequest
		}
		e.fails("ListTagsForResource", obj{"ResourceARN": bad.arn}, bad.code, status, "")
		e.fails("TagResource", obj{"ResourceARN": bad.arn, "Tags": []obj{{"Key": "k", "Value": "v"}}}, bad.code, status, "")
	}
}
