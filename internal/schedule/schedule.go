// Package schedule owns Application Auto Scaling schedule expressions:
// at(yyyy-mm-ddThh:mm:ss), rate(value unit) and cron(fields). It parses them
// with the errors a ValidationException should carry, and computes when a
// schedule fires next, in an IANA time zone, across daylight saving changes.
//
// # Time zones and daylight saving time
//
// at and cron expressions are local (wall-clock) times in the schedule's
// location. Where the clocks change, the rules are those AWS documents for
// EventBridge Scheduler, which shares the syntax:
//
//   - A cron time that does not exist because the clocks sprang forward
//     (02:30 on the day New York starts DST) is skipped: the schedule does not
//     fire for it, neither before nor after the gap.
//   - A cron time that occurs twice because the clocks fell back (01:30 on the
//     day New York ends DST) fires once, at its first occurrence (daylight
//     time). "Every 15 minutes" therefore fires 01:00, 01:15, 01:30 and 01:45
//     daylight time, then 02:00 standard time.
//   - An at() time in a gap is not dropped (it is the only firing): it fires
//     at the first instant after the gap (03:00 daylight time for 02:30). An
//     at() time that occurs twice fires at its first occurrence.
//   - rate() intervals are fixed durations: "1 day" is 24 hours, whatever the
//     clocks do, as EventBridge Scheduler counts them.
//
// # Start and end times
//
// Window limits a schedule to [start, end]. Application Auto Scaling
// documents that when a start time is given it "performs the action at this
// time, and then performs the action based on the specified recurrence":
// so a windowed cron or rate schedule fires at start itself, and rate
// intervals are counted from start. Without a start time AWS counts rate
// intervals from when the action was created; pass that with WithOrigin.
// The end time is inclusive: a firing exactly at end happens. at()
// schedules are only bounded by the window.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "time/tzdata" // time zones resolve on machines without zoneinfo
)

// Kind tells the three forms of schedule expression apart.
type Kind int

// The kinds of schedule. The zero Schedule has KindNone and never fires.
const (
	KindNone Kind = iota
	KindAt
	KindRate
	KindCron
)

func (k Kind) String() string {
	switch k {
	case KindAt:
		return "at"
	case KindRate:
		return "rate"
	case KindCron:
		return "cron"
	}
	return "none"
}

// Schedule is a parsed Application Auto Scaling schedule expression. It is a
// small immutable value: Window and WithOrigin return modified copies, and
// it is safe for concurrent use.
type Schedule struct {
	kind Kind
	expr string
	loc  *time.Location

	at       time.Time     // KindAt: the instant it fires
	interval time.Duration // KindRate
	cron     *cronSpec     // KindCron

	start, end time.Time // Window; zero = unbounded
	origin     time.Time // WithOrigin: where rate intervals count from without a start
}

// Error is a schedule expression that does not parse. Its message is worded
// to be the message of a ValidationException.
type Error struct {
	Expr   string // the expression as given
	Field  string // the part at fault: a cron field ("Minutes", "Day-of-week", ...), "at", "rate", or "" for the form
	Reason string // what is wrong, as a sentence fragment
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("invalid schedule expression %q: %s", e.Expr, e.Reason)
	}
	return fmt.Sprintf("invalid schedule expression %q: %s: %s", e.Expr, e.Field, e.Reason)
}

// Parse parses "at(yyyy-mm-ddThh:mm:ss)", "rate(value unit)" (unit minute |
// minutes | hour | hours | day | days; the singular only for 1, as AWS
// requires) or "cron(Minutes Hours Day-of-month Month Day-of-week Year)" in
// the location loc (nil = UTC). A cron expression may also have seven fields,
// Seconds first, as Application Auto Scaling accepts; the seconds field must
// then be a single value. Errors are *Error, naming the field and the
// constraint.
func Parse(expr string, loc *time.Location) (Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	e := strings.TrimSpace(expr)
	s := Schedule{expr: e, loc: loc}
	fail := func(field, format string, args ...any) (Schedule, error) {
		return Schedule{}, &Error{Expr: expr, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	form, body, ok := strings.Cut(e, "(")
	if !ok || !strings.HasSuffix(body, ")") {
		return fail("", "the schedule must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)")
	}
	body = strings.TrimSuffix(body, ")")
	switch form {
	case "at":
		t, err := parseAt(body, loc)
		if err != "" {
			return fail("at", "%s", err)
		}
		s.kind, s.at = KindAt, t
	case "rate":
		d, err := parseRate(body)
		if err != "" {
			return fail("rate", "%s", err)
		}
		s.kind, s.interval = KindRate, d
	case "cron":
		c, field, err := parseCron(body)
		if err != "" {
			return fail(field, "%s", err)
		}
		s.kind, s.cron = KindCron, c
	default:
		return fail("", "the schedule must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)")
	}
	return s, nil
}

// MustParse is Parse for expressions known to be valid (tests, constants);
// it panics on an error.
func MustParse(expr string, loc *time.Location) Schedule {
	s, err := Parse(expr, loc)
	if err != nil {
		panic(err)
	}
	return s
}

// Window returns s limited to [start, end]; a zero time leaves that side
// unbounded. A cron or rate schedule with a start time fires at start and
// then on its recurrence (AWS's documented behaviour); rate intervals count
// from start. The end is inclusive.
func (s Schedule) Window(start, end time.Time) Schedule {
	s.start, s.end = start, end
	return s
}

// WithOrigin returns s with rate intervals counted from origin when the
// window has no start time. AWS counts them from when the scheduled action
// was created, so pass its creation time. Without a start or an origin,
// intervals count from the Unix epoch (rate(1 hour) fires on the hour, UTC).
// Other kinds ignore the origin.
func (s Schedule) WithOrigin(origin time.Time) Schedule {
	s.origin = origin
	return s
}

// Kind reports which form the expression has.
func (s Schedule) Kind() Kind { return s.kind }

// Location is the time zone at and cron expressions are evaluated in.
func (s Schedule) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Interval is the period of a rate() schedule, zero for other kinds.
func (s Schedule) Interval() time.Duration { return s.interval }

// Start and End return the window set with Window (zero = unbounded).
func (s Schedule) Start() time.Time { return s.start }

// End returns the inclusive end of the window (zero = unbounded).
func (s Schedule) End() time.Time { return s.end }

// String returns the expression as parsed, without surrounding space.
func (s Schedule) String() string { return s.expr }

// Next returns the first time strictly after `after` at which the schedule
// fires, within the window set by Window; ok is false if it never fires
// again. The time is in the schedule's location.
func (s Schedule) Next(after time.Time) (t time.Time, ok bool) {
	switch s.kind {
	case KindAt:
		t, ok = s.at, s.at.After(after)
		if ok && !s.start.IsZero() && t.Before(s.start) {
			ok = false
		}
	case KindRate:
		t, ok = s.rateNext(after)
	case KindCron:
		if !s.start.IsZero() && after.Before(s.start) {
			t, ok = s.start, true
		} else {
			t, ok = s.cronNext(after)
		}
	}
	if !ok || (!s.end.IsZero() && t.After(s.end)) {
		return time.Time{}, false
	}
	return t.In(s.Location()), true
}

// The instants rate arithmetic is done within (years 1 to 9999), so that
// second counts never overflow.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

func (s Schedule) rateNext(after time.Time) (time.Time, bool) {
	origin := s.start
	if origin.IsZero() {
		origin = s.origin
	}
	if origin.IsZero() {
		origin = time.Unix(0, 0)
	}
	if after.Before(origin) {
		return origin, true
	}
	if origin.Unix() < minUnix || after.Unix() > maxUnix {
		return time.Time{}, false
	}
	period := int64(s.interval / time.Second) // whole minutes, so whole seconds
	// Whole seconds from origin to after, rounded down; the interval is whole
	// seconds, so the fraction cannot move the count of periods.
	diff := after.Unix() - origin.Unix()
	if after.Nanosecond() < origin.Nanosecond() {
		diff--
	}
	k := diff/period + 1
	sec := origin.Unix() + k*period
	if sec > maxUnix {
		return time.Time{}, false
	}
	return time.Unix(sec, int64(origin.Nanosecond())), true
}

// The largest rate() value per unit: intervals stay below about 100 years,
// which keeps them a time.Duration with room to add.
const maxRateMinutes = 100 * 366 * 24 * 60

func parseRate(body string) (time.Duration, string) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return 0, "a rate expression must be rate(value unit), e.g. rate(5 minutes)"
	}
	value, unit := f[0], strings.ToLower(f[1])
	for _, c := range value {
		if c < '0' || c > '9' {
			return 0, fmt.Sprintf("the value %q must be a positive integer", f[0])
		}
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n > maxRateMinutes {
		return 0, fmt.Sprintf("the value %s is too large: the longest interval is %d days", f[0], maxRateMinutes/(24*60))
	}
	if n < 1 {
		return 0, fmt.Sprintf("the value %q must be a positive integer", f[0])
	}
	var per time.Duration
	var singular string
	switch unit {
	case "minute", "minutes":
		per, singular = time.Minute, "minute"
	case "hour", "hours":
		per, singular = time.Hour, "hour"
	case "day", "days":
		per, singular = 24*time.Hour, "day"
	default:
		return 0, fmt.Sprintf("the unit %q must be minute, minutes, hour, hours, day or days", f[1])
	}
	if n == 1 && unit != singular {
		return 0, fmt.Sprintf("a value of 1 needs the singular unit %q", singular)
	}
	if n != 1 && unit == singular {
		return 0, fmt.Sprintf("a value of %d needs the plural unit %q", n, singular+"s")
	}
	if time.Duration(n)*per/time.Minute > maxRateMinutes {
		return 0, fmt.Sprintf("the value %s is too large: the longest interval is %d days", f[0], maxRateMinutes/(24*60))
	}
	return time.Duration(n) * per, ""
}

// parseAt reads yyyy-mm-ddThh:mm:ss as a wall time in loc.
func parseAt(body string, loc *time.Location) (time.Time, string) {
	const form = "an at expression must be at(yyyy-mm-ddThh:mm:ss), e.g. at(2026-03-31T22:00:00)"
	b := strings.TrimSpace(body)
	if len(b) != 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, form
	}
	num := func(i, j int) int {
		n := 0
		for _, c := range b[i:j] {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	switch {
	case y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0:
		return time.Time{}, form
	case y < 1:
		return time.Time{}, "the year must be between 0001 and 9999"
	case mo < 1 || mo > 12:
		return time.Time{}, fmt.Sprintf("the month %02d must be between 01 and 12", mo)
	case d < 1 || d > daysIn(y, time.Month(mo)):
		return time.Time{}, fmt.Sprintf("day %02d does not exist in %s %04d", d, time.Month(mo), y)
	case h > 23:
		return time.Time{}, fmt.Sprintf("the hour %02d must be between 00 and 23", h)
	case mi > 59:
		return time.Time{}, fmt.Sprintf("the minute %02d must be between 00 and 59", mi)
	case sec > 59:
		return time.Time{}, fmt.Sprintf("the second %02d must be between 00 and 59", sec)
	}
	w := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC).Unix()
	r := resolve(w, loc)
	if r.gap {
		return time.Unix(r.gapEnd, 0).In(loc), ""
	}
	return time.Unix(r.first, 0).In(loc), ""
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
