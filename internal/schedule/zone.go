package schedule

import (
	"math"
	"time"
)

// A wall time is a civil date and time of day with no zone, held as the Unix
// seconds it would be in UTC ("naive seconds"), so that adding a second or
// comparing two wall times is integer arithmetic.

// wallOf returns the wall time t shows in loc, truncated to the second.
func wallOf(t time.Time, loc *time.Location) int64 {
	return t.Unix() + offsetAt(t.Unix(), loc)
}

// offsetAt returns loc's UTC offset in seconds at Unix second t.
func offsetAt(t int64, loc *time.Location) int64 {
	_, off := time.Unix(t, 0).In(loc).Zone()
	return int64(off)
}

// resolution says which instants show a wall time in a location.
type resolution struct {
	first  int64 // the earliest instant (Unix seconds) showing the wall time, unless gap
	until  int64 // unless gap: the wall time at which the clocks leave first's offset, if they show it again later (else MaxInt64)
	gap    bool  // no instant shows it: the clocks sprang forward over it
	gapEnd int64 // if gap: the instant the clocks jumped, the first after the gap
	resume int64 // if gap: the wall time at gapEnd, the first wall time after the gap
}

// maxOffset bounds any UTC offset in the tz database (local mean times reach
// about ±15 h), so every instant showing wall time n lies within n±maxOffset.
const maxOffset = 18 * 3600

// resolve finds the instants at which loc's clocks show wall time n. Only
// instants in [n-maxOffset, n+maxOffset] can; it assumes the offset changes
// at most once in that span (true of every zone in use), takes the offsets
// before (o1) and after (o2) it, and checks the candidates n-o1 and n-o2.
// Both valid is an overlap (clocks fell back), neither a gap (clocks sprang
// forward). It uses offset lookups only: time.ZoneBounds is unreliable past
// the end of a zone's transition table.
func resolve(n int64, loc *time.Location) resolution {
	if loc == time.UTC || loc == nil {
		return resolution{first: n, until: math.MaxInt64}
	}
	o1 := offsetAt(n-maxOffset, loc)
	o2 := offsetAt(n+maxOffset, loc)
	c1, c2 := n-o1, n-o2
	v1 := offsetAt(c1, loc) == o1
	v2 := o2 != o1 && offsetAt(c2, loc) == o2
	switch {
	case v1 && v2 && c1 < c2:
		t := transition(c1, c2, loc)
		return resolution{first: c1, until: t + o1}
	case v1 && v2:
		t := transition(c2, c1, loc)
		return resolution{first: c2, until: t + o2}
	case v1:
		return resolution{first: c1, until: math.MaxInt64}
	case v2:
		return resolution{first: c2, until: math.MaxInt64}
	}
	lo, hi := min(c1, c2), max(c1, c2)
	t := transition(lo, hi, loc)
	return resolution{gap: true, gapEnd: t, resume: max(t+offsetAt(t, loc), n+1)}
}

// transition returns the first Unix second in (lo, hi] whose offset differs
// from lo's, or hi if there is none. It asks ZoneBounds first and checks the
// answer (ZoneBounds can report a year boundary as a zone start), then
// bisects.
func transition(lo, hi int64, loc *time.Location) int64 {
	o := offsetAt(lo, loc)
	if zs, _ := time.Unix(hi, 0).In(loc).ZoneBounds(); !zs.IsZero() {
		if t := zs.Unix(); t > lo && t <= hi && offsetAt(t-1, loc) == o && offsetAt(t, loc) != o {
			return t
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if offsetAt(mid, loc) == o {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
