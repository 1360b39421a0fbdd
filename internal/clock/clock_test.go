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

func TestMono(t *testing.T) {
	a := time.Now()
	m := Mono()
	b := time.Now()
	if m.Sub(a) < 0 || b.Sub(m) < 0 {
		t.Fatalf("Mono %v is not between %v and %v", m, a, b)
	}
	// Deadlines from Mono are due when time.Now's are.
	if d := time.Until(m.Add(time.Hour)); d <= 59*time.Minute || d > time.Hour {
		t.Errorf("an hour after Mono is %v away", d)
	}
	if m2 := Mono(); m2.Before(m) {
		t.Errorf("Mono went back: %v after %v", m2, m)
	}
	if m.Round(0) == m { // Round(0) strips the monotonic reading
		t.Errorf("Mono has no monotonic reading")
	}
}

// BenchmarkMono and BenchmarkTimeNow compare one clock read with two.
func BenchmarkMono(b *testing.B) {
	for b.Loop() {
		_ = Mono()
	}
}

func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		_ = time.Now()
	}
}
