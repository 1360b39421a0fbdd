package cloudwatch_test

import (
	"testing"
)

func TestAlarmsWithActions(t *testing.T) {
	e := newEnv(t)
	e.ok("PutMetricAlarm", cpuAlarm("b-out"))                                                                      // out (ALARM), in (OK)
	e.ok("PutMetricAlarm", cpuAlarm("a-in", "AlarmActions", nil, "InsufficientDataActions", []string{scaleInARN})) // in twice
	e.ok("PutMetricAlarm", cpuAlarm("c-none", "AlarmActions", nil, "OKActions", nil))
	got, err := e.svc.AlarmsWithActions(e.ctx, account, region, scaleOutARN, scaleInARN, topicARN)
	if err != nil {
		t.Fatal(err)
	}
	names := func(arn string) (out []string) {
		for _, a := range got[arn] {
			out = append(out, a.AlarmName+"|"+a.AlarmArn)
		}
		return out
	}
	if n := names(scaleOutARN); len(n) != 1 || n[0] != "b-out|arn:aws:cloudwatch:us-east-1:123456789012:alarm:b-out" {
		t.Errorf("alarms calling out: %v", n)
	}
	if n := names(scaleInARN); len(n) != 2 || n[0] != "a-in|arn:aws:cloudwatch:us-east-1:123456789012:alarm:a-in" {
		t.Errorf("alarms calling in: %v", n)
	}
	if n := names(topicARN); len(n) != 0 {
		t.Errorf("alarms calling the topic: %v", n)
	}
	if other, err := e.svc.AlarmsWithActions(e.ctx, account, "eu-west-1", scaleOutARN); err != nil || len(other[scaleOutARN]) != 0 {
		t.Errorf("another region: %v, %v", other, err)
	}
}

func TestAlarmsNamed(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"TargetTracking-b", "TargetTracking-a", "other-TargetTracking-c"} {
		e.ok("PutMetricAlarm", cpuAlarm(n))
	}
	got, err := e.svc.AlarmsNamed(e.ctx, account, region, "TargetTracking-")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range got {
		names = append(names, a.AlarmName)
	}
	if len(names) != 2 || names[0] != "TargetTracking-a" || names[1] != "TargetTracking-b" {
		t.Errorf("alarms named TargetTracking-*: %v", names)
	}
	if other, err := e.svc.AlarmsNamed(e.ctx, account, "eu-west-1", ""); err != nil || len(other) != 0 {
		t.Errorf("another region: %v, %v", other, err)
	}
}
