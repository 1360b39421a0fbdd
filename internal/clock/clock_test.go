package clock

import (
	"testing"
	"time"
)

func TestAccelerated(t *testing.T) {
	origin := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := NewAccelerated(origin, 100)
	start := time.Now()
	fired := <-c.After(10 * time.Second) // 100 ms of real time
	real := time.Since(start)
	if real < 90*time.Millisecond || real > 2*time.Second {
		t.Errorf("After(10s) at 100× took %v of real time, want about 100ms", real)
	}
	if d := fired.Sub(origin); d < 9*time.Second {
		t.Errorf("After(10s) fired %v after the origin, want at least 10s", d)
	}
	a, b := c.Now(), c.Now()
	if b.Before(a) || a.Before(fired) {
		t.Errorf("Now went back: %v, %v after %v", a, b, fired)
	}
	if f := NewAccelerated(origin, 0).Factor(); f != 1 {
		t.Errorf("factor 0 became %v, want 1", f)
	}
}
