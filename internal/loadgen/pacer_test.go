package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestConstantPacer(t *testing.T) {
	tests := []struct {
		rate float64
		hit  int64
		want time.Duration
	}{
		{rate: 1000, hit: 0, want: 0},
		{rate: 1000, hit: 1, want: time.Millisecond},
		{rate: 1000, hit: 1500, want: 1500 * time.Millisecond},
		{rate: 3, hit: 1, want: 333333333},
		{rate: 3, hit: 3, want: time.Second},
		{rate: 0.5, hit: 2, want: 4 * time.Second},
		{rate: 20000, hit: 20000 * 3600, want: time.Hour},
	}
	for _, tt := range tests {
		if got := ConstantPacer(tt.rate).Due(tt.hit); got != tt.want {
			t.Errorf("ConstantPacer(%v).Due(%d) = %v, want %v", tt.rate, tt.hit, got, tt.want)
		}
	}
}

func TestWait(t *testing.T) {
	p := ConstantPacer(10) // every 100ms
	tests := []struct {
		elapsed time.Duration
		hits    int64
		want    time.Duration
	}{
		{0, 0, 0},                      // first one at once
		{0, 1, 100 * time.Millisecond}, // next in 100ms
		{30 * time.Millisecond, 1, 70 * time.Millisecond},
		{time.Second, 3, 0},                       // behind: no wait, catch up
		{time.Second, 10, 0},                      // exactly due
		{time.Second, 12, 200 * time.Millisecond}, // ahead
	}
	for _, tt := range tests {
		if got := Wait(p, tt.elapsed, tt.hits); got != tt.want {
			t.Errorf("Wait(elapsed %v, hits %d) = %v, want %v", tt.elapsed, tt.hits, got, tt.want)
		}
	}
}

func TestPoissonPacer(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		seed int64
		n    int64
	}{
		{rate: 100, seed: 1, n: 20000},
		{rate: 5000, seed: 42, n: 50000},
		{rate: 0.5, seed: 7, n: 20000},
	} {
		p := PoissonPacer(tt.rate, tt.seed)
		// Mean rate: n arrivals over Due(n) seconds, within 2% (the
		// standard error is 1/sqrt(n) < 0.8%).
		got := float64(tt.n) / p.Due(tt.n).Seconds()
		if math.Abs(got-tt.rate)/tt.rate > 0.02 {
			t.Errorf("rate %v seed %d: mean rate over %d arrivals = %v", tt.rate, tt.seed, tt.n, got)
		}
		// Exponential gaps: the coefficient of variation is 1 (it is 0 for
		// even spacing), and about e^-1 of the gaps exceed the mean.
		var sum, sumSq float64
		var long int
		mean := 1 / tt.rate
		for i := int64(0); i < tt.n; i++ {
			g := (p.Due(i+1) - p.Due(i)).Seconds()
			if g < 0 {
				t.Fatalf("gap %d negative: %v", i, g)
			}
			sum += g
			sumSq += g * g
			if g > mean {
				long++
			}
		}
		m := sum / float64(tt.n)
		cv := math.Sqrt(sumSq/float64(tt.n)-m*m) / m
		if math.Abs(cv-1) > 0.05 {
			t.Errorf("rate %v: coefficient of variation of gaps = %v, want about 1", tt.rate, cv)
		}
		if frac := float64(long) / float64(tt.n); math.Abs(frac-math.Exp(-1)) > 0.02 {
			t.Errorf("rate %v: fraction of gaps over the mean = %v, want about %v", tt.rate, frac, math.Exp(-1))
		}
	}
}

func TestPoissonPacerIsPure(t *testing.T) {
	a := PoissonPacer(1000, 3)
	seq := make([]time.Duration, 200)
	for i := range seq {
		seq[i] = a.Due(int64(i))
	}
	// Another pacer with the same seed, asked out of order, agrees; one
	// with another seed does not.
	b := PoissonPacer(1000, 3)
	for _, i := range []int{150, 3, 199, 0, 42, 42, 100} {
		if got := b.Due(int64(i)); got != seq[i] {
			t.Errorf("Due(%d) = %v out of order, want %v", i, got, seq[i])
		}
	}
	if c := PoissonPacer(1000, 4); c.Due(100) == seq[100] {
		t.Errorf("seeds 3 and 4 give the same Due(100) = %v", seq[100])
	}
	if a.Due(0) != 0 {
		t.Errorf("Due(0) = %v, want 0", a.Due(0))
	}
}
