package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// The cron syntax is EventBridge's, which Application Auto Scaling uses:
//
//	Field          Values            Wildcards
//	Minutes        0-59              , - * /
//	Hours          0-23              , - * /
//	Day-of-month   1-31              , - * ? / L W
//	Month          1-12 or JAN-DEC   , - * /
//	Day-of-week    1-7 or SUN-SAT    , - * ? L #
//	Year           1970-2199         , - * /
//
// Exactly one of Day-of-month and Day-of-week is '?'. In Day-of-month, L is
// the last day of the month, LW its last weekday and nW the weekday nearest
// day n (never leaving the month; no firing in a month without day n). In
// Day-of-week, L alone is the last day of the week (7, Saturday), nL the last
// day n of the month and n#k the k-th day n of the month (no firing in a
// month without one). L, LW, nW, nL and n#k stand alone, not in lists. Ranges
// may wrap (FRI-MON, 22-2) except in Year; a/n means a, a+n, ... up to the
// field's maximum. Names and L/W are case-insensitive.

// bitset holds the values of a field, bit v-base for value v.
type bitset [4]uint64

func (b *bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b *bitset) has(i int) bool { return i >= 0 && i < 256 && b[i>>6]&(1<<(i&63)) != 0 }
func (b *bitset) count() int {
	return bits.OnesCount64(b[0]) + bits.OnesCount64(b[1]) + bits.OnesCount64(b[2]) + bits.OnesCount64(b[3])
}

// next returns the smallest member ≥ i, or -1.
func (b *bitset) next(i int) int {
	if i < 0 {
		i = 0
	}
	for w := i >> 6; w < 4; w++ {
		m := b[w]
		if w == i>>6 {
			m &= ^uint64(0) << (i & 63)
		}
		if m != 0 {
			return w<<6 + bits.TrailingZeros64(m)
		}
	}
	return -1
}

// Kinds of Day-of-month and Day-of-week field.
const (
	dayAny     = iota // '?'
	daySet            // a set of days (Day-of-month) or weekdays (Day-of-week)
	domLast           // L
	domLastWkd        // LW
	domNearest        // nW
	dowLast           // nL
	dowNth            // n#k
)

type cronSpec struct {
	seconds, minutes, hours, months bitset
	years                           bitset // bit y-1970

	domKind int    // dayAny, daySet, domLast, domLastWkd or domNearest
	dom     uint32 // daySet: bit d for day d
	domDay  int    // domNearest: n of nW

	dowKind int          // dayAny, daySet, dowLast or dowNth
	dow     uint8        // daySet: bit w for time.Weekday w
	dowDay  time.Weekday // dowLast, dowNth: the weekday
	dowNthK int          // dowNth: k of n#k
}

type fieldDef struct {
	name     string
	min, max int
	base     int // bit index = value - base
	maxStep  int
	names    []string // names for min, min+1, ...
	cyclic   bool     // ranges may wrap around
}

var (
	secondsDef = fieldDef{name: "Seconds", min: 0, max: 59, maxStep: 59, cyclic: true}
	minutesDef = fieldDef{name: "Minutes", min: 0, max: 59, maxStep: 59, cyclic: true}
	hoursDef   = fieldDef{name: "Hours", min: 0, max: 23, maxStep: 23, cyclic: true}
	domDef     = fieldDef{name: "Day-of-month", min: 1, max: 31, maxStep: 31, cyclic: true}
	monthDef   = fieldDef{name: "Month", min: 1, max: 12, maxStep: 12, cyclic: true,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	dowDef = fieldDef{name: "Day-of-week", min: 1, max: 7, maxStep: 7, cyclic: true,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	yearDef = fieldDef{name: "Year", min: 1970, max: 2199, base: 1970, maxStep: 229}
)

const cronFields = "Minutes Hours Day-of-month Month Day-of-week Year"

// parseCron parses the fields of cron(...). On error it returns the field
// name and the reason.
func parseCron(body string) (*cronSpec, string, string) {
	f := strings.Fields(strings.ToUpper(body))
	c := &cronSpec{}
	switch len(f) {
	case 6:
		c.seconds.set(0)
	case 7:
		if err := parseList(secondsDef, f[0], &c.seconds); err != "" {
			return nil, secondsDef.name, err
		}
		if c.seconds.count() != 1 {
			return nil, secondsDef.name, "must be a single second: schedules more frequent than once a minute are not supported"
		}
		f = f[1:]
	default:
		return nil, "", fmt.Sprintf("a cron expression has 6 fields (%s), found %d", cronFields, len(f))
	}
	for _, p := range []struct {
		def  fieldDef
		text string
		set  *bitset
	}{
		{minutesDef, f[0], &c.minutes},
		{hoursDef, f[1], &c.hours},
		{monthDef, f[3], &c.months},
		{yearDef, f[5], &c.years},
	} {
		if err := parseList(p.def, p.text, p.set); err != "" {
			return nil, p.def.name, err
		}
	}
	if err := c.parseDOM(f[2]); err != "" {
		return nil, domDef.name, err
	}
	if err := c.parseDOW(f[4]); err != "" {
		return nil, dowDef.name, err
	}
	switch {
	case c.domKind == dayAny && c.dowKind == dayAny:
		return nil, "Day-of-month and Day-of-week", "only one of them may be '?'"
	case c.domKind != dayAny && c.dowKind != dayAny:
		return nil, "Day-of-month and Day-of-week", "both cannot be specified: use '?' in one of them"
	}
	return c, "", ""
}

func (c *cronSpec) parseDOM(text string) string {
	switch {
	case text == "?":
		c.domKind = dayAny
	case text == "L":
		c.domKind = domLast
	case text == "LW":
		c.domKind = domLastWkd
	case strings.HasSuffix(text, "W") && !strings.ContainsAny(text, ",-*/L"):
		n, err := value(domDef, strings.TrimSuffix(text, "W"))
		if err != "" {
			return err
		}
		c.domKind, c.domDay = domNearest, n
	case strings.ContainsAny(text, "LW"):
		return fmt.Sprintf("%q: L, LW and nW (such as 15W) must stand alone", text)
	case strings.Contains(text, "?"):
		return fmt.Sprintf("%q: '?' must stand alone", text)
	default:
		var b bitset
		if err := parseList(domDef, text, &b); err != "" {
			return err
		}
		c.domKind, c.dom = daySet, uint32(b[0])
	}
	return ""
}

func (c *cronSpec) parseDOW(text string) string {
	switch {
	case text == "?":
		c.dowKind = dayAny
	case strings.Contains(text, "#"):
		if strings.ContainsAny(text, ",-*/L?") {
			return fmt.Sprintf("%q: n#k (such as 3#2, the second Tuesday) must stand alone: only one expression is allowed with '#'", text)
		}
		d, k, _ := strings.Cut(text, "#")
		w, err := value(dowDef, d)
		if err != "" {
			return err
		}
		if len(k) != 1 || k[0] < '1' || k[0] > '5' {
			return fmt.Sprintf("%q: the week number after '#' must be 1 to 5", text)
		}
		c.dowKind, c.dowDay, c.dowNthK = dowNth, time.Weekday(w-1), int(k[0]-'0')
	case text == "L":
		// L alone is the last day of the week, Saturday.
		c.dowKind, c.dow = daySet, 1<<time.Saturday
	case strings.HasSuffix(text, "L") && !strings.ContainsAny(text, ",-*/?"):
		w, err := value(dowDef, strings.TrimSuffix(text, "L"))
		if err != "" {
			return err
		}
		c.dowKind, c.dowDay = dowLast, time.Weekday(w-1)
	case strings.Contains(text, "L"):
		return fmt.Sprintf("%q: L and nL (such as 5L, the last Thursday) must stand alone", text)
	case strings.Contains(text, "/"):
		return fmt.Sprintf("%q: '/' is not supported in Day-of-week", text)
	case strings.Contains(text, "?"):
		return fmt.Sprintf("%q: '?' must stand alone", text)
	default:
		var b bitset
		if err := parseList(dowDef, text, &b); err != "" {
			return err
		}
		c.dowKind, c.dow = daySet, uint8(b[0]>>1) // value 1 (SUN) is time.Sunday, 0
	}
	return ""
}

// parseList parses a comma-separated list of *, values, ranges and steps.
func parseList(def fieldDef, text string, set *bitset) string {
	if strings.Contains(text, "?") {
		return fmt.Sprintf("%q: '?' is allowed only in Day-of-month or Day-of-week", text)
	}
	for item := range strings.SplitSeq(text, ",") {
		if err := parseItem(def, item, set); err != "" {
			return err
		}
	}
	return ""
}

// parseItem parses one of *, */n, a, a-b, a/n, a-b/n.
func parseItem(def fieldDef, item string, set *bitset) string {
	if item == "" {
		return "empty value in list"
	}
	body, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, ok := number(stepText)
		if !ok || n < 1 || n > def.maxStep {
			return fmt.Sprintf("%q: the increment after '/' must be a number from 1 to %d", item, def.maxStep)
		}
		step = n
	}
	var lo, hi int
	if body == "*" {
		lo, hi = def.min, def.max
	} else if a, b, isRange := strings.Cut(body, "-"); isRange {
		var err string
		if lo, err = value(def, a); err != "" {
			return err
		}
		if hi, err = value(def, b); err != "" {
			return err
		}
		if lo > hi && !def.cyclic {
			return fmt.Sprintf("%q: the range starts after it ends", item)
		}
	} else {
		var err string
		if lo, err = value(def, body); err != "" {
			return err
		}
		hi = lo
		if hasStep {
			hi = def.max
		}
	}
	span := def.max - def.min + 1
	n := (hi - lo + span) % span // values from lo to hi, going round if hi < lo
	for i := 0; i <= n; i += step {
		set.set(def.min + (lo-def.min+i)%span - def.base)
	}
	return ""
}

// value parses a number or a name of def.
func value(def fieldDef, text string) (int, string) {
	if text == "" {
		return 0, "missing value"
	}
	for i, name := range def.names {
		if text == name {
			return def.min + i, ""
		}
	}
	n, ok := number(text)
	if !ok {
		if def.names != nil {
			return 0, fmt.Sprintf("%q is not a number from %d to %d or a name %s-%s", text, def.min, def.max, def.names[0], def.names[len(def.names)-1])
		}
		return 0, fmt.Sprintf("%q is not a number from %d to %d", text, def.min, def.max)
	}
	if n < def.min || n > def.max {
		return 0, fmt.Sprintf("the value %s is out of range %d-%d", text, def.min, def.max)
	}
	return n, ""
}

// number parses a short unsigned decimal.
func number(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// dayMask returns the days of month m of year y that match, bit d for day d.
func (c *cronSpec) dayMask(y int, m time.Month) uint32 {
	dim := daysIn(y, m)
	all := uint32(1)<<(dim+1) - 2 // days 1..dim
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
	wd := func(d int) time.Weekday { return (first + time.Weekday(d-1)) % 7 }
	switch c.domKind {
	case daySet:
		return c.dom & all
	case domLast:
		return 1 << dim
	case domLastWkd:
		d := dim
		switch wd(d) {
		case time.Saturday:
			d--
		case time.Sunday:
			d -= 2
		}
		return 1 << d
	case domNearest:
		d := c.domDay
		if d > dim {
			return 0
		}
		switch wd(d) {
		case time.Saturday:
			if d == 1 {
				d += 2 // Monday the 3rd: do not leave the month
			} else {
				d--
			}
		case time.Sunday:
			if d == dim {
				d -= 2 // Friday: do not leave the month
			} else {
				d++
			}
		}
		return 1 << d
	}
	switch c.dowKind {
	case daySet:
		// Repeat the weekly pattern, rotated so that bit 1 is day 1.
		var week uint32
		for w := range 7 {
			if c.dow&(1<<((int(first)+w)%7)) != 0 {
				week |= 1 << w
			}
		}
		mask := week | week<<7 | week<<14 | week<<21 | week<<28
		return mask << 1 & all
	case dowLast:
		d := dim - int((wd(dim)-c.dowDay+7)%7)
		return 1 << d
	case dowNth:
		d := 1 + int((c.dowDay-first+7)%7) + 7*(c.dowNthK-1)
		if d > dim {
			return 0
		}
		return 1 << d
	}
	return 0
}

// nextWall returns the smallest wall time ≥ n that matches, or false if none
// does by the end of 2199. It skips whole years, months, days, hours and
// minutes that cannot match.
func (c *cronSpec) nextWall(n int64) (int64, bool) {
	t := time.Unix(n, 0).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < yearDef.min {
		y, mo, d, h, mi, s = yearDef.min, 1, 1, 0, 0, 0
	}
	for {
		if y > yearDef.max {
			return 0, false
		}
		if ny := c.years.next(y-yearDef.base) + yearDef.base; ny != y {
			if ny < yearDef.base {
				return 0, false
			}
			y, mo, d, h, mi, s = ny, 1, 1, 0, 0, 0
		}
		nm := time.Month(c.months.next(int(mo)))
		if nm < 0 {
			y, mo, d, h, mi, s = y+1, 1, 1, 0, 0, 0
			continue
		}
		if nm != mo {
			mo, d, h, mi, s = nm, 1, 0, 0, 0
		}
		days := c.dayMask(y, mo) & (^uint32(0) << min(d, 31))
		if days == 0 || d > 31 {
			if mo == 12 {
				y, mo = y+1, 1
			} else {
				mo++
			}
			d, h, mi, s = 1, 0, 0, 0
			continue
		}
		if nd := bits.TrailingZeros32(days); nd != d {
			d, h, mi, s = nd, 0, 0, 0
		}
		nh := c.hours.next(h)
		if nh < 0 {
			d, h, mi, s = d+1, 0, 0, 0
			continue
		}
		if nh != h {
			h, mi, s = nh, 0, 0
		}
		nmi := c.minutes.next(mi)
		if nmi < 0 {
			h, mi, s = h+1, 0, 0
			continue
		}
		if nmi != mi {
			mi, s = nmi, 0
		}
		ns := c.seconds.next(s)
		if ns < 0 {
			mi, s = mi+1, 0
			continue
		}
		return time.Date(y, mo, d, h, mi, ns, 0, time.UTC).Unix(), true
	}
}

// cronNext finds the first firing strictly after `after`: the next matching
// wall time whose first occurrence is after it, skipping wall times in gaps.
func (s Schedule) cronNext(after time.Time) (time.Time, bool) {
	loc := s.Location()
	au := after.Unix() // whole seconds, rounded down
	n := wallOf(after, loc)
	for {
		w, ok := s.cron.nextWall(n)
		if !ok {
			return time.Time{}, false
		}
		r := resolve(w, loc)
		switch {
		case r.gap:
			n = r.resume // AWS skips wall times the clocks jump over
		case r.first > au:
			return time.Unix(r.first, 0), true
		default:
			// w first occurred at or before after: after is in the second
			// pass of a fall-back overlap (or w is after's own second). The
			// wall times whose first occurrence is not after `after` run on
			// from w for as long as the first pass lasts; skip them.
			n = min(w+(au-r.first)+1, r.until)
		}
	}
}
