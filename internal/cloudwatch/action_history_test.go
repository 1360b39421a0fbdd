package cloudwatch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/metrics"
)

// An alarm action run on a state change, by SetAlarmState or by an
// evaluation, is an Action item of the alarm's history: executed, or
// failed with the handler's error. Actions re-run while a state lasts are
// not recorded again.
func TestAlarmActionHistory(t *testing.T) {
	e := newEnv(t)
	rec := newRecorder(map[string]string{scaleOutARN: "out", scaleInARN: "in"})
	e.svc.AddActionHandler(rec)
	e.ok("PutMetricAlarm", cpuAlarm("cpu", "EvaluationPeriods", 1))
	e.setNow(start.Add(10 * time.Second))
	e.ok("SetAlarmState", obj{"AlarmName": "cpu", "StateValue": "ALARM", "StateReason": "drill"})
	if got := rec.take(); got != "10:00:10 out*[]" {
		t.Fatalf("SetAlarmState ran %q", got)
	}
	rec.fail = true
	if err := e.metrics.Put("Custom/App", "CPU", hostADims(), 10, "Percent", start.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, now := range []time.Time{start.Add(61 * time.Second), start.Add(121 * time.Second)} {
		if err := e.svc.EvaluateNow(e.ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	if got := rec.take(); got != "10:01:01 in*[10], 10:02:01 in[10]" {
		t.Fatalf("evaluations ran %q", got)
	}
	out := e.ok("DescribeAlarmHistory", obj{"AlarmName": "cpu", "HistoryItemType": "Action", "ScanBy": "TimestampAscending"})
	var got []string
	for _, it := range list(out, "AlarmHistoryItems") {
		got = append(got, it["HistorySummary"].(string))
		data := it["HistoryData"].(string)
		if !strings.Contains(data, `"notificationResource":"arn:aws:autoscaling:`) {
			t.Errorf("history data %s", data)
		}
		if strings.HasPrefix(it["HistorySummary"].(string), "Failed") && !strings.Contains(data, `"error":"handler failed"`) {
			t.Errorf("failed action's data %s", data)
		}
	}
	if want := "Successfully executed action " + scaleOutARN + "; Failed to execute action " + scaleInARN; strings.Join(got, "; ") != want {
		t.Errorf("action history:\n got %s\nwant %s", strings.Join(got, "; "), want)
	}
}

func hostADims() []metrics.Dimension { return []metrics.Dimension{{Name: "Host", Value: "a"}} }
