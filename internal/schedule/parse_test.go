package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr   string
		field  string // Error.Field
		reason string // substring of Error.Reason
	}{
		// The form.
		{"", "", "must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},
		{"every 5 minutes", "", "must be at("},
		{"cron 0 10 * * ? *", "", "must be at("},
		{"cron(0 10 * * ? *", "", "must be at("},
		{"CRON(0 10 * * ? *)", "", "must be at("},
		{"weekly(1)", "", "must be at("},
		// cron: field count.
		{"cron()", "", "has 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), found 0"},
		{"cron(0 10 * * ?)", "", "found 5"},
		{"cron(0 0 0 10 * * ? *)", "", "found 8"},
		// cron: values out of range.
		{"cron(60 * * * ? *)", "Minutes", "the value 60 is out of range 0-59"},
		{"cron(0 24 * * ? *)", "Hours", "the value 24 is out of range 0-23"},
		{"cron(0 0 0 * ? *)", "Day-of-month", "the value 0 is out of range 1-31"},
		{"cron(0 0 32 * ? *)", "Day-of-month", "the value 32 is out of range 1-31"},
		{"cron(0 0 * 13 ? *)", "Month", "the value 13 is out of range 1-12"},
		{"cron(0 0 * 0 ? *)", "Month", "the value 0 is out of range 1-12"},
		{"cron(0 0 ? * 0 *)", "Day-of-week", "the value 0 is out of range 1-7"},
		{"cron(0 0 ? * 8 *)", "Day-of-week", "the value 8 is out of range 1-7"},
		{"cron(0 0 * * ? 1969)", "Year", "the value 1969 is out of range 1970-2199"},
		{"cron(0 0 * * ? 2200)", "Year", "the value 2200 is out of range 1970-2199"},
		{"cron(0 0 * * ? 2100-2200)", "Year", "the value 2200 is out of range 1970-2199"},
		// cron: not numbers or names.
		{"cron(x 0 * * ? *)", "Minutes", `"X" is not a number from 0 to 59`},
		{"cron(-5 0 * * ? *)", "Minutes", "missing value"},
		{"cron(5- 0 * * ? *)", "Minutes", "missing value"},
		{"cron(1,,2 0 * * ? *)", "Minutes", "empty value in list"},
		{"cron(1.5 0 * * ? *)", "Minutes", `"1.5" is not a number`},
		{"cron(0 0 * JANUARY ? *)", "Month", `"JANUARY" is not a number from 1 to 12 or a name JAN-DEC`},
		{"cron(0 0 ? * MONDAY *)", "Day-of-week", "or a name SUN-SAT"},
		{"cron(0 0 ? * 1-FUN *)", "Day-of-week", `"FUN" is not a number`},
		{"cron(0 MON * * ? *)", "Hours", `"MON" is not a number from 0 to 23`},
		{"cron(0 0 * * ? 99999999999)", "Year", "is not a number"},
		// cron: steps.
		{"cron(0/0 * * * ? *)", "Minutes", "increment after '/' must be a number from 1 to 59"},
		{"cron(0/60 * * * ? *)", "Minutes", "from 1 to 59"},
		{"cron(0 */24 * * ? *)", "Hours", "from 1 to 23"},
		{"cron(0/ * * * ? *)", "Minutes", "increment after '/'"},
		{"cron(0/x * * * ? *)", "Minutes", "increment after '/'"},
		{"cron(/5 * * * ? *)", "Minutes", "missing value"},
		{"cron(0 0 1 */13 ? *)", "Month", "from 1 to 12"},
		{"cron(0 0 1 1 ? 2020/230)", "Year", "from 1 to 229"},
		{"cron(0 0 ? * 1/2 *)", "Day-of-week", "'/' is not supported in Day-of-week"},
		// cron: ranges.
		{"cron(0 0 1 1 ? 2030-2020)", "Year", "the range starts after it ends"},
		// cron: '?' rules (AWS: exactly one of Day-of-month and Day-of-week is '?').
		{"cron(0 10 * * * *)", "Day-of-month and Day-of-week", "both cannot be specified: use '?' in one of them"},
		{"cron(0 10 1 * MON *)", "Day-of-month and Day-of-week", "both cannot be specified"},
		{"cron(0 10 L * 5L *)", "Day-of-month and Day-of-week", "both cannot be specified"},
		{"cron(0 10 ? * ? *)", "Day-of-month and Day-of-week", "only one of them may be '?'"},
		{"cron(? 10 * * ? *)", "Minutes", "'?' is allowed only in Day-of-month or Day-of-week"},
		{"cron(0 ? * * ? *)", "Hours", "'?' is allowed only"},
		{"cron(0 0 * ? ? *)", "Month", "'?' is allowed only"},
		{"cron(0 0 * * ? ?)", "Year", "'?' is allowed only"},
		{"cron(0 0 ?,1 * ? *)", "Day-of-month", "'?' must stand alone"},
		{"cron(0 0 * * ?,1 *)", "Day-of-week", "'?' must stand alone"},
		// cron: L, W and #.
		{"cron(0 0 L,15 * ? *)", "Day-of-month", "L, LW and nW (such as 15W) must stand alone"},
		{"cron(0 0 1-5W * ? *)", "Day-of-month", "must stand alone"},
		{"cron(0 0 L-3 * ? *)", "Day-of-month", "must stand alone"},
		{"cron(0 0 W * ? *)", "Day-of-month", "missing value"},
		{"cron(0 0 32W * ? *)", "Day-of-month", "the value 32 is out of range 1-31"},
		{"cron(0 0 0W * ? *)", "Day-of-month", "out of range 1-31"},
		{"cron(L 0 * * ? *)", "Minutes", `"L" is not a number`},
		{"cron(0 0 * * ? L)", "Year", `"L" is not a number`},
		{"cron(0 0 ? * 1,5L *)", "Day-of-week", "L and nL (such as 5L, the last Thursday) must stand alone"},
		{"cron(0 0 ? * 8L *)", "Day-of-week", "the value 8 is out of range 1-7"},
		{"cron(0 0 ? * 3#1,6#3 *)", "Day-of-week", "only one expression is allowed with '#'"},
		{"cron(0 0 ? * 3#0 *)", "Day-of-week", "the week number after '#' must be 1 to 5"},
		{"cron(0 0 ? * 3#6 *)", "Day-of-week", "the week number after '#' must be 1 to 5"},
		{"cron(0 0 ? * 3# *)", "Day-of-week", "the week number after '#'"},
		{"cron(0 0 ? * #2 *)", "Day-of-week", "missing value"},
		{"cron(0 0 ? * 9#2 *)", "Day-of-week", "the value 9 is out of range 1-7"},
		{"cron(0 0 1# * ? *)", "Day-of-month", `"1#" is not a number`},
		// cron: seconds (seven fields).
		{"cron(* 0 10 * * ? *)", "Seconds", "must be a single second"},
		{"cron(0/30 0 10 * * ? *)", "Seconds", "must be a single second"},
		{"cron(60 0 10 * * ? *)", "Seconds", "the value 60 is out of range 0-59"},
		// rate.
		{"rate()", "rate", "must be rate(value unit)"},
		{"rate(5)", "rate", "must be rate(value unit)"},
		{"rate(5 minutes please)", "rate", "must be rate(value unit)"},
		{"rate(0 minutes)", "rate", `the value "0" must be a positive integer`},
		{"rate(-5 minutes)", "rate", `the value "-5" must be a positive integer`},
		{"rate(+5 minutes)", "rate", "must be a positive integer"},
		{"rate(1.5 hours)", "rate", "must be a positive integer"},
		{"rate(five minutes)", "rate", "must be a positive integer"},
		{"rate(5 seconds)", "rate", `the unit "seconds" must be minute, minutes, hour, hours, day or days`},
		{"rate(2 weeks)", "rate", "must be minute, minutes, hour, hours, day or days"},
		{"rate(1 minutes)", "rate", `a value of 1 needs the singular unit "minute"`},
		{"rate(1 hours)", "rate", `the singular unit "hour"`},
		{"rate(1 days)", "rate", `the singular unit "day"`},
		{"rate(5 minute)", "rate", `a value of 5 needs the plural unit "minutes"`},
		{"rate(2 hour)", "rate", `the plural unit "hours"`},
		{"rate(10 day)", "rate", `the plural unit "days"`},
		{"rate(99999999999999999999 minutes)", "rate", "is too large"},
		{"rate(36601 days)", "rate", "is too large: the longest interval is 36600 days"},
		{"rate(52704001 minutes)", "rate", "is too large"},
		// at.
		{"at()", "at", "must be at(yyyy-mm-ddThh:mm:ss)"},
		{"at(2026-03-31)", "at", "must be at(yyyy-mm-ddThh:mm:ss)"},
		{"at(2026-03-31 22:00:00)", "at", "must be at(yyyy-mm-ddThh:mm:ss)"},
		{"at(2026-03-31T22:00)", "at", "must be at("},
		{"at(2026-03-31T22:00:00Z)", "at", "must be at("},
		{"at(2026-3-31T22:00:000)", "at", "must be at("},
		{"at(2026-03-31T2a:00:00)", "at", "must be at("},
		{"at(0000-01-01T00:00:00)", "at", "the year must be between 0001 and 9999"},
		{"at(2026-13-01T00:00:00)", "at", "the month 13 must be between 01 and 12"},
		{"at(2026-00-01T00:00:00)", "at", "the month 00 must be between 01 and 12"},
		{"at(2026-02-29T00:00:00)", "at", "day 29 does not exist in February 2026"},
		{"at(2026-04-31T00:00:00)", "at", "day 31 does not exist in April 2026"},
		{"at(2026-04-00T00:00:00)", "at", "day 00 does not exist"},
		{"at(2026-04-01T24:00:00)", "at", "the hour 24 must be between 00 and 23"},
		{"at(2026-04-01T23:60:00)", "at", "the minute 60 must be between 00 and 59"},
		{"at(2026-04-01T23:59:60)", "at", "the second 60 must be between 00 and 59"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := Parse(tt.expr, nil)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.expr, s)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T %v, want *Error", tt.expr, err, err)
			}
			if pe.Field != tt.field || !strings.Contains(pe.Reason, tt.reason) {
				t.Errorf("Parse(%q) = field %q reason %q, want field %q reason containing %q", tt.expr, pe.Field, pe.Reason, tt.field, tt.reason)
			}
			if pe.Expr != tt.expr || !strings.Contains(err.Error(), pe.Reason) || !strings.Contains(err.Error(), pe.Field) {
				t.Errorf("message %q does not carry the expression, field and reason", err.Error())
			}
			if s.Kind() != KindNone {
				t.Errorf("failed Parse returned kind %v", s.Kind())
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		expr     string
		kind     Kind
		interval time.Duration
	}{
		{"cron(0 10 * * ? *)", KindCron, 0},
		{"  cron( 0   10 * * ?\t* )  ", KindCron, 0},
		{"cron(0 18 ? * MON-FRI *)", KindCron, 0},
		{"cron(0 18 ? * mon-fri *)", KindCron, 0},
		{"cron(0 0 1 jan,Feb,MAR ? *)", KindCron, 0},
		{"cron(0 0 l * ? *)", KindCron, 0},
		{"cron(0 0 lw * ? *)", KindCron, 0},
		{"cron(0 0 15w * ? *)", KindCron, 0},
		{"cron(0 0 ? * 5l *)", KindCron, 0},
		{"cron(0 0 ? * fril *)", KindCron, 0},
		{"cron(0 0 ? * mon#2 *)", KindCron, 0},
		{"cron(0 0 ? * L *)", KindCron, 0},
		{"cron(0 0 ? * 7 *)", KindCron, 0},
		{"cron(0 22-2 ? * FRI-MON *)", KindCron, 0},
		{"cron(50-10/5 * * * ? *)", KindCron, 0},
		{"cron(0 0 1 1 ? 1970-2199/10)", KindCron, 0},
		{"cron(0 0 * * ? 2199)", KindCron, 0},
		{"cron(0 0 1/2 * ? *)", KindCron, 0},
		{"cron(30 0 10 * * ? *)", KindCron, 0},
		{"rate(1 minute)", KindRate, time.Minute},
		{"rate(5 minutes)", KindRate, 5 * time.Minute},
		{"rate(1 hour)", KindRate, time.Hour},
		{"rate(12 hours)", KindRate, 12 * time.Hour},
		{"rate(1 day)", KindRate, 24 * time.Hour},
		{"rate(7 days)", KindRate, 7 * 24 * time.Hour},
		{"rate(  7    days )", KindRate, 7 * 24 * time.Hour},
		{"rate(5 MINUTES)", KindRate, 5 * time.Minute},
		{"rate(007 days)", KindRate, 7 * 24 * time.Hour},
		{"rate(36500 days)", KindRate, 36500 * 24 * time.Hour},
		{"at(2026-03-31T22:00:00)", KindAt, 0},
		{"at(1969-12-31T23:59:59)", KindAt, 0},
		{"at(2024-02-29T00:00:00)", KindAt, 0},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr, nil)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if s.Kind() != tt.kind || s.Interval() != tt.interval {
			t.Errorf("Parse(%q) = kind %v interval %v, want %v %v", tt.expr, s.Kind(), s.Interval(), tt.kind, tt.interval)
		}
		if s.String() != strings.TrimSpace(tt.expr) {
			t.Errorf("String() = %q, want %q", s.String(), strings.TrimSpace(tt.expr))
		}
		if s.Location() != time.UTC {
			t.Errorf("Parse(%q, nil).Location() = %v, want UTC", tt.expr, s.Location())
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindNone: "none", KindAt: "at", KindRate: "rate", KindCron: "cron"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
}

func TestMustParse(t *testing.T) {
	if s := MustParse("rate(1 hour)", nil); s.Interval() != time.Hour {
		t.Errorf("MustParse interval %v", s.Interval())
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParse of an invalid expression did not panic")
		}
	}()
	MustParse("rate(1 hours)", nil)
}

func TestZeroScheduleNeverFires(t *testing.T) {
	var s Schedule
	if got, ok := s.Next(time.Now()); ok {
		t.Errorf("zero Schedule fires at %v", got)
	}
	if s.Location() != time.UTC {
		t.Errorf("zero Schedule location %v", s.Location())
	}
}
