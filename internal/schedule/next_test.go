package schedule

import (
	"slices"
	"testing"
	"time"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parse time %q: %v", s, err)
	}
	return v
}

// sequence returns up to n successive firings after from, formatted RFC 3339
// in the schedule's location, ending with "none" if the schedule stops.
func sequence(s Schedule, from time.Time, n int) []string {
	var out []string
	for range n {
		next, ok := s.Next(from)
		if !ok {
			return append(out, "none")
		}
		out = append(out, next.Format(time.RFC3339))
		from = next
	}
	return out
}

func TestCronNextUTC(t *testing.T) {
	tests := []struct {
		name, expr, from string
		want             []string
	}{
		{"daily, strictly after", "cron(0 10 * * ? *)", "2026-01-01T10:00:00Z",
			[]string{"2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z"}},
		{"daily, from just before", "cron(15 12 * * ? *)", "2026-01-01T12:14:59.999Z",
			[]string{"2026-01-01T12:15:00Z", "2026-01-02T12:15:00Z"}},
		{"weekdays over a weekend", "cron(0 18 ? * MON-FRI *)", "2026-01-02T18:00:00Z",
			[]string{"2026-01-05T18:00:00Z", "2026-01-06T18:00:00Z"}},
		{"every 15 minutes over midnight", "cron(0/15 * * * ? *)", "2026-01-01T23:50:00Z",
			[]string{"2026-01-02T00:00:00Z", "2026-01-02T00:15:00Z"}},
		{"range with step", "cron(5-50/10 * * * ? *)", "2026-01-01T00:40:00Z",
			[]string{"2026-01-01T00:45:00Z", "2026-01-01T01:05:00Z", "2026-01-01T01:15:00Z"}},
		{"star step from a fraction", "cron(*/20 * * * ? *)", "2026-01-01T00:00:00.5Z",
			[]string{"2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z"}},
		{"start with step", "cron(1/10 * * * ? *)", "2026-01-01T00:51:00Z",
			[]string{"2026-01-01T01:01:00Z", "2026-01-01T01:11:00Z"}},
		{"list", "cron(0 8,12,17 * * ? *)", "2026-01-01T12:00:00Z",
			[]string{"2026-01-01T17:00:00Z", "2026-01-02T08:00:00Z", "2026-01-02T12:00:00Z"}},
		{"business hours every 5 minutes", "cron(0/5 8-17 ? * MON-FRI *)", "2026-01-02T17:54:00Z",
			[]string{"2026-01-02T17:55:00Z", "2026-01-05T08:00:00Z", "2026-01-05T08:05:00Z"}},
		{"hours wrapping midnight", "cron(0 22-2 * * ? *)", "2026-01-01T12:00:00Z",
			[]string{"2026-01-01T22:00:00Z", "2026-01-01T23:00:00Z", "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", "2026-01-02T02:00:00Z", "2026-01-02T22:00:00Z"}},
		{"minutes wrapping with step", "cron(50-10/5 3 * * ? *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T03:00:00Z", "2026-01-01T03:05:00Z", "2026-01-01T03:10:00Z", "2026-01-01T03:50:00Z", "2026-01-01T03:55:00Z", "2026-01-02T03:00:00Z"}},
		{"weekdays wrapping the weekend", "cron(0 0 ? * FRI-MON *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z"}},
		{"numeric weekdays, 1 is Sunday", "cron(0 0 ? * 1,7 *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-10T00:00:00Z"}},
		{"last day of month", "cron(0 0 L * ? *)", "2026-01-15T00:00:00Z",
			[]string{"2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"}},
		{"last day of a leap February", "cron(0 0 L * ? *)", "2028-01-31T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"}},
		{"last weekday of month", "cron(0 0 LW * ? *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z", "2026-05-29T00:00:00Z"}},
		{"1W stays in the month", "cron(0 0 1W * ? *)", "2026-07-15T00:00:00Z",
			[]string{"2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "2026-11-02T00:00:00Z"}},
		{"31W stays in the month, skips short months", "cron(0 0 31W * ? *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-30T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z"}},
		{"15W", "cron(0 9 15W * ? *)", "2026-02-01T00:00:00Z",
			[]string{"2026-02-16T09:00:00Z", "2026-03-16T09:00:00Z", "2026-04-15T09:00:00Z"}},
		{"second Tuesday", "cron(0 0 ? * 3#2 *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-13T00:00:00Z", "2026-02-10T00:00:00Z", "2026-03-10T00:00:00Z"}},
		{"second Tuesday by name", "cron(0 0 ? * TUE#2 *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-13T00:00:00Z", "2026-02-10T00:00:00Z"}},
		{"fifth Friday only where there is one", "cron(0 0 ? * 6#5 *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-30T00:00:00Z", "2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z", "2026-10-30T00:00:00Z", "2027-01-29T00:00:00Z"}},
		{"last Thursday", "cron(0 0 ? * 5L *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-29T00:00:00Z", "2026-02-26T00:00:00Z", "2026-03-26T00:00:00Z", "2026-04-30T00:00:00Z"}},
		{"L alone in Day-of-week is Saturday", "cron(0 0 ? * L *)", "2026-01-01T00:00:00Z",
			[]string{"2026-01-03T00:00:00Z", "2026-01-10T00:00:00Z", "2026-01-17T00:00:00Z"}},
		{"leap day", "cron(0 12 29 2 ? *)", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"}},
		{"quarterly by month step", "cron(0 0 1 JAN/3 ? *)", "2026-01-01T00:00:00Z",
			[]string{"2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"day-of-month step", "cron(0 0 10/10 * ? *)", "2026-02-01T00:00:00Z",
			[]string{"2026-02-10T00:00:00Z", "2026-02-20T00:00:00Z", "2026-03-10T00:00:00Z", "2026-03-20T00:00:00Z", "2026-03-30T00:00:00Z", "2026-04-10T00:00:00Z"}},
		{"year step", "cron(0 0 1 1 ? 2030/5)", "2026-01-01T00:00:00Z",
			[]string{"2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z", "2040-01-01T00:00:00Z"}},
		{"year list ends", "cron(0 0 1 1 ? 2027,2029-2030)", "2026-01-01T00:00:00Z",
			[]string{"2027-01-01T00:00:00Z", "2029-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "none"}},
		{"leap day in a year range", "cron(0 0 29 FEB ? 2027-2030)", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "none"}},
		{"February with five Sundays", "cron(0 0 ? 2 1#5 *)", "2026-01-01T00:00:00Z",
			[]string{"2032-02-29T00:00:00Z"}},
		{"seconds field", "cron(30 0 12 * * ? *)", "2026-01-01T12:00:30Z",
			[]string{"2026-01-02T12:00:30Z", "2026-01-03T12:00:30Z"}},
		{"from before 1970", "cron(0 0 1 1 ? *)", "1900-06-01T00:00:00Z",
			[]string{"1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z"}},
		{"February 30 never fires", "cron(0 0 30 2 ? *)", "2026-01-01T00:00:00Z", []string{"none"}},
		{"31st of 30-day months never fires", "cron(0 0 31 4,6,9,11 ? *)", "2026-01-01T00:00:00Z", []string{"none"}},
		{"fifth Sunday of a February that has none", "cron(0 0 ? 2 1#5 2027)", "2026-01-01T00:00:00Z", []string{"none"}},
		{"year in the past", "cron(0 0 * * ? 1999)", "2026-01-01T00:00:00Z", []string{"none"}},
		{"past the last year", "cron(0 0 31 12 ? *)", "2199-12-31T00:00:00Z", []string{"none"}},
		{"last firing of 2199", "cron(59 23 31 12 ? *)", "2199-12-31T00:00:00Z", []string{"2199-12-31T23:59:00Z", "none"}},
		{"after 2199", "cron(0 0 * * ? *)", "2250-01-01T00:00:00Z", []string{"none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.expr, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := sequence(s, mustTime(t, tt.from), len(tt.want))
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s from %s:\n got %v\nwant %v", tt.expr, tt.from, got, tt.want)
			}
		})
	}
}

func TestCronWindow(t *testing.T) {
	s := MustParse("cron(0 18 ? * MON-FRI *)", nil)
	start := mustTime(t, "2026-01-05T09:30:00Z") // Monday
	end := mustTime(t, "2026-01-07T18:00:00Z")   // Wednesday, on a firing
	w := s.Window(start, end)
	if !w.Start().Equal(start) || !w.End().Equal(end) {
		t.Errorf("Start/End = %v %v", w.Start(), w.End())
	}
	tests := []struct {
		from string
		want []string
	}{
		// AWS performs the action at the start time, then on the recurrence;
		// the end is inclusive.
		{"2026-01-01T00:00:00Z", []string{"2026-01-05T09:30:00Z", "2026-01-05T18:00:00Z", "2026-01-06T18:00:00Z", "2026-01-07T18:00:00Z", "none"}},
		{"2026-01-05T09:29:59.999Z", []string{"2026-01-05T09:30:00Z", "2026-01-05T18:00:00Z"}},
		{"2026-01-05T09:30:00Z", []string{"2026-01-05T18:00:00Z"}},
		{"2026-01-07T18:00:00Z", []string{"none"}},
	}
	for _, tt := range tests {
		got := sequence(w, mustTime(t, tt.from), len(tt.want))
		if !slices.Equal(got, tt.want) {
			t.Errorf("from %s:\n got %v\nwant %v", tt.from, got, tt.want)
		}
	}
	// Only an end: the recurrence up to it.
	if got := sequence(s.Window(time.Time{}, end), mustTime(t, "2026-01-06T20:00:00Z"), 2); !slices.Equal(got, []string{"2026-01-07T18:00:00Z", "none"}) {
		t.Errorf("end only: %v", got)
	}
	// An end before the start: never.
	if got, ok := s.Window(end, start).Next(mustTime(t, "2026-01-01T00:00:00Z")); ok {
		t.Errorf("inverted window fires at %v", got)
	}
}

func TestRateNext(t *testing.T) {
	tests := []struct {
		name          string
		expr          string
		start, end    string // window, "" = unbounded
		origin        string // WithOrigin, "" = none
		from          string
		want          []string
		wantInterval  time.Duration
		wantFirstGap  time.Duration
		checkInterval bool
	}{
		{name: "no origin counts from the epoch", expr: "rate(1 hour)", from: "2026-01-01T10:30:00Z",
			want: []string{"2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z"}},
		{name: "from a firing is strictly after", expr: "rate(5 minutes)", from: "2026-01-01T10:05:00Z",
			want: []string{"2026-01-01T10:10:00Z"}},
		{name: "origin is the creation time", expr: "rate(5 minutes)", origin: "2026-01-01T10:02:30Z", from: "2026-01-01T10:02:30Z",
			want: []string{"2026-01-01T10:07:30Z", "2026-01-01T10:12:30Z", "2026-01-01T10:17:30Z"}},
		{name: "origin later than from fires at the origin", expr: "rate(5 minutes)", origin: "2026-01-01T10:02:30Z", from: "2026-01-01T09:00:00Z",
			want: []string{"2026-01-01T10:02:30Z", "2026-01-01T10:07:30Z"}},
		{name: "from long after the origin", expr: "rate(7 days)", origin: "2026-01-01T00:00:00Z", from: "2026-03-15T12:00:00Z",
			want: []string{"2026-03-19T00:00:00Z", "2026-03-26T00:00:00Z"}},
		{name: "the AWS example: every 5 hours in a window", expr: "rate(5 hours)", start: "2021-01-30T12:00:00Z", end: "2021-01-31T22:00:00Z", from: "2021-01-01T00:00:00Z",
			want: []string{"2021-01-30T12:00:00Z", "2021-01-30T17:00:00Z", "2021-01-30T22:00:00Z", "2021-01-31T03:00:00Z", "2021-01-31T08:00:00Z", "2021-01-31T13:00:00Z", "2021-01-31T18:00:00Z", "none"}},
		{name: "start overrides the origin", expr: "rate(1 hour)", start: "2026-01-01T10:20:00Z", origin: "2026-01-01T10:00:00Z", from: "2026-01-01T10:30:00Z",
			want: []string{"2026-01-01T11:20:00Z"}},
		{name: "end is inclusive", expr: "rate(10 minutes)", start: "2026-01-01T10:00:00Z", end: "2026-01-01T10:20:00Z", from: "2026-01-01T10:00:00Z",
			want: []string{"2026-01-01T10:10:00Z", "2026-01-01T10:20:00Z", "none"}},
		{name: "sub-second origin keeps its fraction", expr: "rate(1 minute)", origin: "2026-01-01T10:00:00.25Z", from: "2026-01-01T10:00:00.2Z",
			want: []string{"2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z"}}, // formatted to the second
		{name: "far future ends", expr: "rate(1 day)", from: "9999-12-31T12:00:00Z", want: []string{"none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustParse(tt.expr, nil)
			var start, end time.Time
			if tt.start != "" {
				start = mustTime(t, tt.start)
			}
			if tt.end != "" {
				end = mustTime(t, tt.end)
			}
			s = s.Window(start, end)
			if tt.origin != "" {
				s = s.WithOrigin(mustTime(t, tt.origin))
			}
			got := sequence(s, mustTime(t, tt.from), len(tt.want))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestRateSubSecondOrigin(t *testing.T) {
	s := MustParse("rate(1 minute)", nil).WithOrigin(mustTime(t, "2026-01-01T10:00:00.25Z"))
	for _, tt := range []struct{ from, want string }{
		{"2026-01-01T10:00:00.2Z", "2026-01-01T10:00:00.25Z"},
		{"2026-01-01T10:00:00.25Z", "2026-01-01T10:01:00.25Z"},
		{"2026-01-01T10:01:00.2Z", "2026-01-01T10:01:00.25Z"},
		{"2026-01-01T10:01:00.3Z", "2026-01-01T10:02:00.25Z"},
	} {
		got, ok := s.Next(mustTime(t, tt.from))
		if !ok || !got.Equal(mustTime(t, tt.want)) {
			t.Errorf("Next(%s) = %v %v, want %s", tt.from, got, ok, tt.want)
		}
	}
}

func TestAtNext(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	tests := []struct {
		name       string
		expr       string
		loc        *time.Location
		start, end string
		from       string
		want       []string
	}{
		{name: "once in UTC", expr: "at(2026-03-31T22:00:00)", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-03-31T22:00:00Z", "none"}},
		{name: "in the past", expr: "at(2026-03-31T22:00:00)", from: "2026-03-31T22:00:00Z", want: []string{"none"}},
		{name: "local time in New York", expr: "at(2021-01-31T17:00:00)", loc: ny, from: "2021-01-01T00:00:00Z",
			want: []string{"2021-01-31T17:00:00-05:00", "none"}},
		{name: "in the spring-forward gap fires when the gap ends", expr: "at(2026-03-08T02:30:00)", loc: ny, from: "2026-03-01T00:00:00Z",
			want: []string{"2026-03-08T03:00:00-04:00", "none"}},
		{name: "in the fall-back overlap fires at the first occurrence", expr: "at(2026-11-01T01:30:00)", loc: ny, from: "2026-11-01T00:00:00Z",
			want: []string{"2026-11-01T01:30:00-04:00", "none"}},
		{name: "inside the window", expr: "at(2026-03-31T22:00:00)", start: "2026-03-01T00:00:00Z", end: "2026-03-31T22:00:00Z", from: "2026-01-01T00:00:00Z",
			want: []string{"2026-03-31T22:00:00Z", "none"}},
		{name: "before the window", expr: "at(2026-03-31T22:00:00)", start: "2026-04-01T00:00:00Z", from: "2026-01-01T00:00:00Z", want: []string{"none"}},
		{name: "after the window", expr: "at(2026-03-31T22:00:00)", end: "2026-03-31T21:59:59Z", from: "2026-01-01T00:00:00Z", want: []string{"none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustParse(tt.expr, tt.loc)
			var start, end time.Time
			if tt.start != "" {
				start = mustTime(t, tt.start)
			}
			if tt.end != "" {
				end = mustTime(t, tt.end)
			}
			got := sequence(s.Window(start, end), mustTime(t, tt.from), len(tt.want))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestNextIsStrictlyLater walks many schedules forward from many instants,
// including fractional ones, and checks that every firing is later than
// the instant asked about and that Next(t) for t between two firings finds
// the second.
func TestNextIsStrictlyLater(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	for _, expr := range []string{"cron(0/7 * * * ? *)", "cron(30 1,2 * * ? *)", "cron(0 0 LW * ? *)", "rate(13 minutes)", "cron(15 0 2 * * ? *)"} {
		s := MustParse(expr, ny)
		from := mustTime(t, "2026-10-31T23:59:59.5-04:00")
		prev := from
		for range 200 {
			next, ok := s.Next(prev)
			if !ok {
				t.Fatalf("%s stopped after %v", expr, prev)
			}
			if !next.After(prev) {
				t.Fatalf("%s: Next(%v) = %v, not later", expr, prev, next)
			}
			// Any instant between two firings leads to the second.
			mid := prev.Add(next.Sub(prev) / 2)
			if again, _ := s.Next(mid); !again.Equal(next) && mid.Before(next) {
				t.Fatalf("%s: Next(%v) = %v, want %v", expr, mid, again, next)
			}
			if again, _ := s.Next(next.Add(-time.Nanosecond)); !again.Equal(next) {
				t.Fatalf("%s: Next(%v - 1ns) = %v, want %v", expr, next, again, next)
			}
			prev = next
		}
	}
}
