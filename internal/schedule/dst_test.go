package schedule

import (
	"slices"
	"testing"
	"time"
)

// 2026 changes: New York springs forward on 8 March at 02:00 EST (07:00Z)
// and falls back on 1 November at 02:00 EDT (06:00Z); Berlin springs
// forward on 29 March at 02:00 CET and falls back on 25 October at 03:00
// CEST (both 01:00Z); Lord Howe moves by 30 minutes, back on 5 April at
// 02:00 and forward on 4 October at 02:00.

func TestCronNextAcrossDST(t *testing.T) {
	tests := []struct {
		name, zone, expr, from string
		want                   []string
	}{
		// New York, spring forward: 02:00-02:59 does not exist on 8 March.
		{"daily in the gap is skipped that day", "America/New_York", "cron(30 2 * * ? *)", "2026-03-07T00:00:00-05:00",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}},
		{"the gap's first minute is skipped too", "America/New_York", "cron(0 2 * * ? *)", "2026-03-07T03:00:00-05:00",
			[]string{"2026-03-09T02:00:00-04:00"}},
		{"03:00 exists: the instant of the change", "America/New_York", "cron(0 3 * * ? *)", "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T03:00:00-04:00"}},
		{"every 30 minutes across the gap", "America/New_York", "cron(0/30 * * * ? *)", "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"}},
		{"hourly across the gap", "America/New_York", "cron(0 * * * ? *)", "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		{"from inside the gap's hour, as a clock sees it", "America/New_York", "cron(15 2,3 * * ? *)", "2026-03-08T01:59:59-05:00",
			[]string{"2026-03-08T03:15:00-04:00", "2026-03-09T02:15:00-04:00"}},
		{"second Sunday of March at 02:30 is always in the gap", "America/New_York", "cron(30 2 ? * 1#2 *)", "2026-03-01T00:00:00-05:00",
			[]string{"2026-04-12T02:30:00-04:00", "2026-05-10T02:30:00-04:00"}},
		{"the only firing is in the gap", "America/New_York", "cron(30 2 8 3 ? 2026)", "2026-01-01T00:00:00-05:00",
			[]string{"none"}},
		{"DST rules of 2199 still apply", "America/New_York", "cron(30 2 ? 3 1#2 2199)", "2199-01-01T00:00:00-05:00",
			[]string{"none"}},
		// New York, fall back: 01:00-01:59 happens twice on 1 November.
		{"daily in the overlap fires once, first occurrence", "America/New_York", "cron(30 1 * * ? *)", "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"from the first firing, the repeat is not a firing", "America/New_York", "cron(0 1 * * ? *)", "2026-11-01T01:00:00-04:00",
			[]string{"2026-11-02T01:00:00-05:00"}},
		{"every 30 minutes across the overlap", "America/New_York", "cron(0/30 * * * ? *)", "2026-11-01T00:30:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"from the second pass of the overlap", "America/New_York", "cron(0/30 * * * ? *)", "2026-11-01T01:10:00-05:00",
			[]string{"2026-11-01T02:00:00-05:00"}},
		{"from the last second of the second pass", "America/New_York", "cron(0/7 * * * ? *)", "2026-11-01T01:59:59.9-05:00",
			[]string{"2026-11-01T02:00:00-05:00", "2026-11-01T02:07:00-05:00"}},
		{"hourly across the overlap", "America/New_York", "cron(0 * * * ? *)", "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"}},
		{"across a year end past the tz table", "America/New_York", "cron(0/30 * * * ? *)", "2040-12-31T23:00:00-05:00",
			[]string{"2040-12-31T23:30:00-05:00", "2041-01-01T00:00:00-05:00", "2041-01-01T00:30:00-05:00"}},
		{"fall back past the tz table", "America/New_York", "cron(30 1 * * ? *)", "2150-11-01T00:00:00-04:00",
			[]string{"2150-11-01T01:30:00-04:00", "2150-11-02T01:30:00-05:00"}},
		// Berlin.
		{"Berlin: spring gap skipped", "Europe/Berlin", "cron(30 2 * * ? *)", "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-30T02:30:00+02:00"}},
		{"Berlin: overlap fires at the first occurrence", "Europe/Berlin", "cron(30 2 * * ? *)", "2026-10-24T12:00:00+02:00",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"Berlin: every 20 minutes in the repeated hour", "Europe/Berlin", "cron(0/20 2 * * ? *)", "2026-10-25T00:00:00+02:00",
			[]string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:20:00+02:00", "2026-10-25T02:40:00+02:00", "2026-10-26T02:00:00+01:00"}},
		{"Berlin: last Sunday of March at 02:00 is in the gap", "Europe/Berlin", "cron(0 2 ? * 1L *)", "2026-03-01T00:00:00+01:00",
			[]string{"2026-04-26T02:00:00+02:00"}},
		// Lord Howe: 30-minute changes.
		{"Lord Howe: 30-minute gap", "Australia/Lord_Howe", "cron(15 2 * * ? *)", "2026-10-03T12:00:00+10:30",
			[]string{"2026-10-05T02:15:00+11:00"}},
		{"Lord Howe: 30-minute overlap", "Australia/Lord_Howe", "cron(45 1 * * ? *)", "2026-04-04T12:00:00+11:00",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		// Seven fields: seconds in the repeated hour.
		{"seconds in the overlap", "America/New_York", "cron(30 59 1 * * ? *)", "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:59:30-04:00", "2026-11-02T01:59:30-05:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustParse(tt.expr, mustLoad(t, tt.zone))
			got := sequence(s, mustTime(t, tt.from), len(tt.want))
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s in %s from %s:\n got %v\nwant %v", tt.expr, tt.zone, tt.from, got, tt.want)
			}
		})
	}
}

// steppedClock runs s the way a scheduler loop does: a clock advances by
// step from `from` to `to`; at each tick every firing that has come due is
// taken, and the loop asks for the one after it.
func steppedClock(s Schedule, from, to time.Time, step time.Duration) (fired []time.Time, late time.Duration) {
	next, ok := s.Next(from)
	for now := from; now.Before(to); {
		now = now.Add(step)
		for ok && !next.After(now) && next.Before(to) {
			fired = append(fired, next)
			late = max(late, now.Sub(next))
			next, ok = s.Next(next)
		}
	}
	return fired, late
}

func TestSteppedClockAcrossDST(t *testing.T) {
	tests := []struct {
		name, zone, expr string
		from, to         string // a local day, or longer
		want             int    // firings
		mustFire         []string
		mustNotFire      []string
	}{
		{name: "New York spring day is 23 hours: 46 half hours", zone: "America/New_York", expr: "cron(0/30 * * * ? *)",
			from: "2026-03-08T00:00:00-05:00", to: "2026-03-09T00:00:00-04:00", want: 46,
			mustFire: []string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"}},
		{name: "New York fall day is 25 hours: still 48 half hours", zone: "America/New_York", expr: "cron(0/30 * * * ? *)",
			from: "2026-11-01T00:00:00-04:00", to: "2026-11-02T00:00:00-05:00", want: 48,
			mustFire:    []string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"},
			mustNotFire: []string{"2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00"}},
		{name: "Berlin spring day", zone: "Europe/Berlin", expr: "cron(0/30 * * * ? *)",
			from: "2026-03-29T00:00:00+01:00", to: "2026-03-30T00:00:00+02:00", want: 46},
		{name: "Berlin fall day", zone: "Europe/Berlin", expr: "cron(0/30 * * * ? *)",
			from: "2026-10-25T00:00:00+02:00", to: "2026-10-26T00:00:00+01:00", want: 48,
			mustNotFire: []string{"2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00"}},
		{name: "daily 02:30 in March, New York: 30 of 31 days", zone: "America/New_York", expr: "cron(30 2 * * ? *)",
			from: "2026-03-01T00:00:00-05:00", to: "2026-04-01T00:00:00-04:00", want: 30,
			mustNotFire: []string{"2026-03-08T03:30:00-04:00", "2026-03-08T03:00:00-04:00"}},
		{name: "daily 01:30 in November, New York: once a day", zone: "America/New_York", expr: "cron(30 1 * * ? *)",
			from: "2026-11-01T00:00:00-04:00", to: "2026-12-01T00:00:00-05:00", want: 30},
		{name: "daily 02:30 in March, Berlin", zone: "Europe/Berlin", expr: "cron(30 2 * * ? *)",
			from: "2026-03-01T00:00:00+01:00", to: "2026-04-01T00:00:00+02:00", want: 30},
		{name: "daily 02:30 in October, Berlin: once a day", zone: "Europe/Berlin", expr: "cron(30 2 * * ? *)",
			from: "2026-10-01T00:00:00+02:00", to: "2026-11-01T00:00:00+01:00", want: 31,
			mustFire: []string{"2026-10-25T02:30:00+02:00"}, mustNotFire: []string{"2026-10-25T02:30:00+01:00"}},
		{name: "rate(1 hour) counts real hours: 25 on the fall day", zone: "America/New_York", expr: "rate(1 hour)",
			from: "2026-11-01T00:00:00-04:00", to: "2026-11-02T00:00:00-05:00", want: 25,
			mustFire: []string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"}},
		{name: "rate(1 day) is 24 hours: the wall time moves", zone: "America/New_York", expr: "rate(1 day)",
			from: "2026-03-06T00:00:00-05:00", to: "2026-03-11T00:00:00-04:00", want: 5,
			mustFire: []string{"2026-03-07T19:00:00-05:00", "2026-03-08T20:00:00-04:00"}},
	}
	for _, tt := range tests {
		for _, step := range []time.Duration{time.Minute, 7 * time.Minute, 61 * time.Second} {
			t.Run(tt.name+"/"+step.String(), func(t *testing.T) {
				s := MustParse(tt.expr, mustLoad(t, tt.zone))
				from, to := mustTime(t, tt.from), mustTime(t, tt.to)
				fired, late := steppedClock(s, from.Add(-time.Nanosecond), to, step)
				if len(fired) != tt.want {
					t.Errorf("fired %d times, want %d: %v", len(fired), tt.want, fired)
				}
				if late >= step {
					t.Errorf("a firing was taken %v late with a %v clock step", late, step)
				}
				for i := 1; i < len(fired); i++ {
					if !fired[i].After(fired[i-1]) {
						t.Errorf("firing %v not after %v", fired[i], fired[i-1])
					}
				}
				for _, w := range tt.mustFire {
					if !slices.ContainsFunc(fired, mustTime(t, w).Equal) {
						t.Errorf("did not fire at %s", w)
					}
				}
				for _, w := range tt.mustNotFire {
					if slices.ContainsFunc(fired, mustTime(t, w).Equal) {
						t.Errorf("fired at %s", w)
					}
				}
			})
		}
	}
}
