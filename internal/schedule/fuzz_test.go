package schedule

import (
	"errors"
	"testing"
	"time"
)

var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Apia", "Asia/Kolkata"}

// FuzzParse checks that Parse never panics, that failures are *Error with a
// message, and that for whatever parses, Next(t) is later than t whenever
// ok, and so is the firing after that.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"cron(0 10 * * ? *)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 0 L * ? *)", "cron(0 0 LW * ? *)",
		"cron(0 0 15W * ? *)", "cron(0 0 ? * 5L *)", "cron(0 0 ? * 3#2 *)", "cron(0 0 30 2 ? *)",
		"cron(50-10/5 22-2 25-5 NOV-FEB ? 2026-2030/2)", "cron(30 0 12 * * ? *)", "cron(0 0 * * ? 2199)",
		"cron(30 2 * * ? *)", "cron(0/30 1 * * ? *)", "rate(5 minutes)", "rate(1 day)", "rate(36600 days)",
		"at(2026-03-08T02:30:00)", "at(2026-11-01T01:30:00)", "at(9999-12-31T23:59:59)",
		"cron(0 0 ? * L *)", "cron(0 0 1W * ? *)", "cron(* * * * ? *)", "cron(0 0 ? * 1#5 *)",
		"", "cron(", "rate(", "at(", "cron(0 0 ? * #5 *)", "cron(0 0 ? * 1#5,2 *)", "cron(999999 0 * * ? *)",
	} {
		f.Add(seed, int64(1767225600), uint8(1))
	}
	minSec := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxSec := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		locs[i] = mustLoad(f, z)
	}
	f.Fuzz(func(t *testing.T, expr string, sec int64, zone uint8) {
		loc := locs[int(zone)%len(locs)]
		s, err := Parse(expr, loc)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Reason == "" || err.Error() == "" {
				t.Fatalf("Parse(%q) error %#v", expr, err)
			}
			return
		}
		_ = s.String()
		span := maxSec - minSec
		after := time.Unix(minSec+(sec%span+span)%span, int64(zone)*1e6)
		next, ok := s.Next(after)
		if !ok {
			return
		}
		if !next.After(after) {
			t.Fatalf("%s in %v: Next(%v) = %v, not later", expr, loc, after, next)
		}
		if again, ok := s.Next(next); ok && !again.After(next) {
			t.Fatalf("%s in %v: Next(%v) = %v, not later", expr, loc, next, again)
		}
		// A window starting at after: the first firing is after itself.
		w := s.Window(after.Add(time.Second), time.Time{})
		if first, ok := w.Next(after); s.Kind() != KindAt && (!ok || !first.Equal(after.Add(time.Second))) {
			t.Fatalf("%s: windowed Next(%v) = %v %v, want the start", expr, after, first, ok)
		}
	})
}

func BenchmarkNext(b *testing.B) {
	ny := mustLoad(b, "America/New_York")
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name, expr string
		loc        *time.Location
	}{
		{"daily_UTC", "cron(0 10 * * ? *)", time.UTC},
		{"weekday_5min_NY", "cron(0/5 8-17 ? * MON-FRI *)", ny},
		{"every_minute_NY", "cron(* * * * ? *)", ny},
		{"last_weekday_NY", "cron(0 18 LW * ? *)", ny},
		{"second_tuesday_NY", "cron(0 9 ? * 3#2 *)", ny},
		{"leap_day_UTC", "cron(0 0 29 2 ? *)", time.UTC},
		{"never_Feb30_UTC", "cron(0 0 30 2 ? *)", time.UTC},
		{"never_gap_NY", "cron(30 2 ? 3 1#2 *)", ny},
		{"rate_5min", "rate(5 minutes)", time.UTC},
		{"at_NY", "at(2026-11-01T01:30:00)", ny},
	} {
		s := MustParse(bc.expr, bc.loc)
		b.Run(bc.name, func(b *testing.B) {
			t := from
			for b.Loop() {
				next, ok := s.Next(t)
				if ok && next.Year() < 2100 {
					t = next
				} else {
					t = from
				}
			}
		})
	}
}

// BenchmarkMinuteScanPeer is the naive peer for BenchmarkNext/leap_day_UTC:
// test every minute until a match. Compare ns/op to see what skipping by
// year, month and day buys.
func BenchmarkMinuteScanPeer(b *testing.B) {
	s := MustParse("cron(0 0 29 2 ? *)", nil)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		for t := from.Add(time.Minute); ; t = t.Add(time.Minute) {
			y, m, d := t.Date()
			if refMatch(s.cron, y, m, d, t.Hour(), t.Minute()) {
				break
			}
		}
	}
}
