package schedule

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// The tests here check Next against a brute-force reference: walk every
// minute (or day) in a span, decide from first principles whether the
// schedule fires then, and compare the lists. The reference shares only the
// parsed minute/hour/month/year sets with the code under test (those are
// checked by the sequence tables); its day-of-month and day-of-week rules
// and its DST rule are written independently of dayMask and resolve.

// refDay decides whether day d of (y, m) matches, straight from the rules.
func refDay(c *cronSpec, y int, m time.Month, d int) bool {
	dim := daysIn(y, m)
	wd := func(d int) time.Weekday { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday() }
	weekday := func(d int) bool { return wd(d) != time.Saturday && wd(d) != time.Sunday }
	switch c.domKind {
	case daySet:
		return c.dom&(1<<d) != 0
	case domLast:
		return d == dim
	case domLastWkd:
		last := dim
		for !weekday(last) {
			last--
		}
		return d == last
	case domNearest:
		n := c.domDay
		if n > dim {
			return false
		}
		// The weekday of this month closest to day n.
		best := -1
		for x := 1; x <= dim; x++ {
			if weekday(x) && (best < 0 || abs(x-n) < abs(best-n)) {
				best = x
			}
		}
		return d == best
	}
	switch c.dowKind {
	case daySet:
		return c.dow&(1<<wd(d)) != 0
	case dowLast:
		return wd(d) == c.dowDay && d+7 > dim
	case dowNth:
		return wd(d) == c.dowDay && (d-1)/7+1 == c.dowNthK
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func refMatch(c *cronSpec, y int, m time.Month, d, h, mi int) bool {
	return y >= 1970 && y <= 2199 && c.years.has(y-1970) && c.months.has(int(m)) &&
		c.hours.has(h) && c.minutes.has(mi) && refDay(c, y, m, d)
}

// minute is one minute of real time and the wall clock then.
type minute struct {
	t                time.Time
	y                int
	m                time.Month
	d, h, mi         int
	firstOccurrence  bool // no earlier instant (within 3 hours) showed this wall time
	wallSecondsSince int64
}

// minutes lists every minute of [from, to) in loc.
func minutes(from, to time.Time, loc *time.Location) []minute {
	var out []minute
	wallKey := func(t time.Time) [5]int {
		l := t.In(loc)
		y, m, d := l.Date()
		return [5]int{y, int(m), d, l.Hour(), l.Minute()}
	}
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		k := wallKey(t)
		first := true
		// Offsets change by at most 2 hours; a repeated wall time shows
		// again within that.
		for back := 15 * time.Minute; back <= 3*time.Hour; back += 15 * time.Minute {
			if wallKey(t.Add(-back)) == k {
				first = false
				break
			}
		}
		out = append(out, minute{t: t, y: k[0], m: time.Month(k[1]), d: k[2], h: k[3], mi: k[4], firstOccurrence: first})
	}
	return out
}

func TestCronMatchesReferenceAcrossDST(t *testing.T) {
	exprs := []string{
		"cron(0/30 * * * ? *)",
		"cron(* * * * ? *)",
		"cron(30 2 * * ? *)",
		"cron(0 2 * * ? *)",
		"cron(15 1,2,3 * * ? *)",
		"cron(45 1 * * ? *)",
		"cron(0/20 2 * * ? *)",
		"cron(*/7 0-4 ? * SUN *)",
		"cron(0 0-23/5 * * ? *)",
		"cron(10 22-3 * * ? *)",
		"cron(0 0 L * ? *)",
		"cron(0 12 LW * ? *)",
		"cron(0 9 1W * ? *)",
		"cron(0 9 31W * ? *)",
		"cron(30 2 ? * 1#2 *)",
		"cron(30 2 ? * 1L *)",
		"cron(0 6 ? * 2L *)",
		"cron(45 23 ? * SAT,SUN *)",
		"cron(0 0 ? * FRI-MON *)",
		"cron(59 23 31 * ? *)",
		"cron(0 3 ? * L *)",
		"cron(5-50/15 1-3 25-5 * ? *)",
		"cron(0 0 29 2 ? *)",
		"cron(0 2 ? MAR,OCT 1#1-1#1 *)",
	}
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata", "America/Sao_Paulo"}
	spans := [][2]string{
		{"2026-02-25T00:00:00Z", "2026-04-10T00:00:00Z"}, // US, EU, Lord Howe and Chatham DST changes
		{"2026-09-20T00:00:00Z", "2026-11-05T00:00:00Z"},
	}
	if testing.Short() {
		zones = zones[:3]
	}
	for _, zone := range zones {
		loc := mustLoad(t, zone)
		for _, span := range spans {
			from, to := mustTime(t, span[0]), mustTime(t, span[1])
			mins := minutes(from, to, loc)
			for _, expr := range exprs {
				s, err := Parse(expr, loc)
				if err != nil {
					if expr == "cron(0 2 ? MAR,OCT 1#1-1#1 *)" {
						continue // deliberately invalid: n#k stands alone
					}
					t.Fatal(err)
				}
				var want []time.Time
				for _, m := range mins {
					if m.firstOccurrence && refMatch(s.cron, m.y, m.m, m.d, m.h, m.mi) {
						want = append(want, m.t)
					}
				}
				var got []time.Time
				for at := from.Add(-time.Nanosecond); ; {
					next, ok := s.Next(at)
					if !ok || !next.Before(to) {
						break
					}
					got = append(got, next)
					at = next
				}
				if !slices.EqualFunc(got, want, time.Time.Equal) {
					t.Errorf("%s in %s, %s to %s: Next gives %d firings, the reference %d; first difference: %s",
						expr, zone, span[0], span[1], len(got), len(want), firstDiff(got, want, loc))
				}
			}
		}
	}
}

func firstDiff(got, want []time.Time, loc *time.Location) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].In(loc).Format(time.RFC3339)
		}
		if i < len(want) {
			w = want[i].In(loc).Format(time.RFC3339)
		}
		if g != w {
			return "#" + strconv.Itoa(i) + " got " + g + " want " + w
		}
	}
	return "none"
}

// TestCronDayRulesMatchReference checks the day rules over ten years, a day
// at a time, in UTC.
func TestCronDayRulesMatchReference(t *testing.T) {
	exprs := []string{
		"cron(0 0 L * ? *)", "cron(0 0 LW * ? *)", "cron(0 0 1W * ? *)", "cron(0 0 2W * ? *)",
		"cron(0 0 15W * ? *)", "cron(0 0 29W * ? *)", "cron(0 0 30W * ? *)", "cron(0 0 31W * ? *)",
		"cron(0 0 ? * 1L *)", "cron(0 0 ? * 5L *)", "cron(0 0 ? * 7L *)", "cron(0 0 ? * L *)",
		"cron(0 0 ? * 1#1 *)", "cron(0 0 ? * 3#2 *)", "cron(0 0 ? * 6#5 *)", "cron(0 0 ? * 2#5 *)", "cron(0 0 ? * 7#4 *)",
		"cron(0 0 29 2 ? *)", "cron(0 0 ? * FRI-MON *)", "cron(0 0 ? * 2-6 *)", "cron(0 0 10/10 * ? *)",
		"cron(0 0 25-5 * ? *)", "cron(0 0 1 JAN/3 ? *)", "cron(0 0 13 * ? *)", "cron(0 0 ? NOV-FEB 4#4 2027/2)",
		"cron(0 0 1,15,L * ? *)", // invalid: L stands alone
	}
	from, to := mustTime(t, "2026-01-01T00:00:00Z"), mustTime(t, "2036-01-01T00:00:00Z")
	for _, expr := range exprs {
		s, err := Parse(expr, nil)
		if err != nil {
			if expr == "cron(0 0 1,15,L * ? *)" {
				continue
			}
			t.Fatal(err)
		}
		var want []time.Time
		for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
			y, m, d := day.Date()
			if refMatch(s.cron, y, m, d, 0, 0) {
				want = append(want, day)
			}
		}
		var got []time.Time
		for at := from.Add(-time.Second); ; {
			next, ok := s.Next(at)
			if !ok || !next.Before(to) {
				break
			}
			got = append(got, next)
			at = next
		}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("%s: Next gives %d days, the reference %d; first difference: %s", expr, len(got), len(want), firstDiff(got, want, time.UTC))
		}
		if len(want) == 0 {
			t.Errorf("%s: the reference never fires in ten years; pick a better case", expr)
		}
	}
}
