package autoscale

import (
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/awstime"
)

func mustSchedule(t *testing.T, a ScheduledAction, origin time.Time) ActionSchedule {
	t.Helper()
	s, err := ParseActionSchedule(a, origin)
	if err != nil {
		t.Fatal(err)
	}
	return ActionSchedule{Name: a.ScheduledActionName, Schedule: s, Action: ScalableTargetAction{MinCapacity: i32(1)}, Since: origin}
}

func TestDueRunsAcrossDST(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	// 09:00 New York every day: 14:00 UTC in winter, 13:00 UTC once DST
	// starts (2026-03-08).
	daily := mustSchedule(t, ScheduledAction{ScheduledActionName: "morning", Schedule: "cron(0 9 * * ? *)", Timezone: "America/New_York"},
		time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	var got []time.Time
	after := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	for now := after; now.Before(time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)); now = now.Add(15 * time.Minute) {
		for _, r := range DueRuns([]ActionSchedule{daily}, after, now) {
			got = append(got, r.At)
		}
		after = now
	}
	var want []time.Time
	for d := 5; d <= 10; d++ {
		want = append(want, time.Date(2026, 3, d, 9, 0, 0, 0, ny))
	}
	if len(got) != len(want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("run %d at %v (%v UTC), want %v", i, got[i], got[i].UTC(), want[i].UTC())
		}
	}
	if got[2].UTC().Hour() != 14 || got[3].UTC().Hour() != 13 {
		t.Errorf("DST not followed: %v, %v", got[2].UTC(), got[3].UTC())
	}
}

func TestDueRuns(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	hourly := mustSchedule(t, ScheduledAction{ScheduledActionName: "hourly", Schedule: "rate(1 hour)"}, t0.Add(30*time.Minute))
	at := mustSchedule(t, ScheduledAction{ScheduledActionName: "once", Schedule: "at(2026-06-01T02:10:00)"}, t0)
	late := mustSchedule(t, ScheduledAction{ScheduledActionName: "late", Schedule: "cron(15 * * * ? *)"}, t0.Add(150*time.Minute))
	windowed := mustSchedule(t, ScheduledAction{ScheduledActionName: "windowed", Schedule: "cron(0 * * * ? *)",
		StartTime: awstime.At(t0.Add(3 * time.Hour)), EndTime: awstime.At(t0.Add(4 * time.Hour))}, t0)
	all := []ActionSchedule{hourly, at, late, windowed}

	tests := []struct {
		name       string
		after, now time.Time
		want       []string // name@offset
	}{
		{"nothing due yet", t0, t0.Add(29 * time.Minute), nil},
		{"rate counts from the origin", t0, t0.Add(90 * time.Minute), []string{"hourly@1h30m0s"}},
		{"catch-up runs the latest occurrence once", t0, t0.Add(150 * time.Minute),
			[]string{"hourly@2h30m0s", "once@2h10m0s"}},
		{"in time order", t0.Add(2 * time.Hour), t0.Add(200 * time.Minute),
			[]string{"once@2h10m0s", "hourly@2h30m0s", "late@3h15m0s", "windowed@3h0m0s"}},
		{"since: occurrences before a change do not run", t0, t0.Add(140 * time.Minute),
			[]string{"hourly@1h30m0s", "once@2h10m0s"}},
		{"window end is inclusive", t0.Add(210 * time.Minute), t0.Add(5 * time.Hour),
			[]string{"hourly@4h30m0s", "late@4h15m0s", "windowed@4h0m0s"}},
	}
	for _, tc := range tests {
		runs := DueRuns(all, tc.after, tc.now)
		var got []string
		for _, r := range runs {
			got = append(got, r.Name+"@"+r.At.Sub(t0).String())
		}
		want := map[string]bool{}
		for _, w := range tc.want {
			want[w] = true
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: runs %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i, g := range got {
			if !want[g] {
				t.Errorf("%s: runs %v, want %v", tc.name, got, tc.want)
			}
			if i > 0 && runs[i].At.Before(runs[i-1].At) {
				t.Errorf("%s: runs out of order: %v", tc.name, got)
			}
		}
	}
	if next, ok := NextRun(all, t0); !ok || !next.Equal(t0.Add(90*time.Minute)) {
		t.Errorf("NextRun = %v, %v", next, ok)
	}
	if _, ok := NextRun([]ActionSchedule{at}, t0.Add(3*time.Hour)); ok {
		t.Error("a past at() runs again")
	}
}

func TestLoadTimezone(t *testing.T) {
	for _, name := range []string{"UTC", "America/New_York", "Europe/London", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "EST5EDT", "Asia/Kolkata"} {
		if _, err := LoadTimezone(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseActionScheduleErrors(t *testing.T) {
	for _, a := range []ScheduledAction{
		{Schedule: "cron(0 9 * * ? *)", Timezone: "Mars/Olympus_Mons"},
		{Schedule: "cron(0 9 * * ? *)", Timezone: "Local"},
		{Schedule: "cron(0 9 * * ? *)", Timezone: "localtime"},
		{Schedule: "cron(0 9 * * ? *)", Timezone: "posixrules"},
		{Schedule: "cron(0 9 * * ? *)", Timezone: "Factory"},
		{Schedule: "cron(0 9 * * ? *)", Timezone: "America/New_York/"},
		{Schedule: "cron(0 9 * * ? *)", Timezone: "./America/New_York"},
		{Schedule: "cron(0 9 * * ? *)", Timezone: "zone1970.tab"},
		{Schedule: "rate(0 minutes)"},
		{Schedule: "every day"},
		{Schedule: "cron(0 9 * * *)"},
	} {
		if _, err := ParseActionSchedule(a, time.Time{}); err == nil {
			t.Errorf("%+v parsed", a)
		}
	}
}
