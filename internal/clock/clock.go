// Package clock is the time source of inferscale's loops. Decision code
// takes `now` as a parameter; the loops that call it read time through a
// Clock, so that tests step or speed up time instead of sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// epoch anchors Mono: both clocks read once, at start.
var epoch = time.Now()

// Mono returns the current time from one read of the monotonic clock,
// where time.Now reads two clocks. Its monotonic reading is exact, so it
// serves deadlines and durations (Sub, Since, Until and net.Conn's
// deadlines use only that); its wall time is epoch's plus the time elapsed
// since, which drifts from the system clock when that is set or slewed:
// never show it or store it.
func Mono() time.Time { return epoch.Add(time.Since(epoch)) }

// Accelerated is a clock that runs Factor times faster than real time:
// from origin at its creation, every real second moves it Factor seconds,
// and After(d) fires after d/Factor of real time. It lets whole-system
// tests live through minutes of alarms and cooldowns in seconds, with real
// processes and real HTTP underneath.
type Accelerated struct {
	factor float64
	origin time.Time
	start  time.Time // real time at origin

	mu   sync.Mutex
	last time.Time // Now never goes back
}

// NewAccelerated returns a clock at origin now, running factor (> 0) times
// faster than real time.
func NewAccelerated(origin time.Time, factor float64) *Accelerated {
	if !(factor > 0) {
		factor = 1
	}
	return &Accelerated{factor: factor, origin: origin, start: time.Now()}
}

// Factor is how much faster than real time the clock runs.
func (a *Accelerated) Factor() float64 { return a.factor }

// Now returns the accelerated time.
func (a *Accelerated) Now() time.Time {
	t := a.origin.Add(time.Duration(float64(time.Since(a.start)) * a.factor))
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.Before(a.last) {
		t = a.last
	}
	a.last = t
	return t
}

// After sends the accelerated time once d of it has passed.
func (a *Accelerated) After(d time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	time.AfterFunc(time.Duration(float64(d)/a.factor), func() { c <- a.Now() })
	return c
}
