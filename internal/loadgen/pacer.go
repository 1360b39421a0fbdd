package loadgen

import (
	"math"
	"time"
)

// Pacer decides when the requests of an open-loop run are due. Due is a
// pure function: the same hit always gets the same time, whatever the
// server does, so a slow server cannot slow the arrivals down.
type Pacer interface {
	// Due returns the intended send time of the hit'th request (0-based),
	// as an offset from the start of the run.
	Due(hit int64) time.Duration
	// Rate returns the mean arrival rate in requests per second.
	Rate() float64
}

// Wait returns how long to wait, elapsed after the start of a run with hits
// requests already sent, before the next one is due; 0 means it is due now
// (or late). It is a pure function of its arguments.
func Wait(p Pacer, elapsed time.Duration, hits int64) time.Duration {
	if d := p.Due(hits) - elapsed; d > 0 {
		return d
	}
	return 0
}

// ConstantPacer sends rate requests per second, evenly spaced, the first at
// time zero.
func ConstantPacer(rate float64) Pacer { return constantPacer{rate: rate} }

type constantPacer struct{ rate float64 }

func (c constantPacer) Rate() float64 { return c.rate }

func (c constantPacer) Due(hit int64) time.Duration {
	if c.rate <= 0 {
		return math.MaxInt64
	}
	return time.Duration(float64(hit) * 1e9 / c.rate)
}

// PoissonPacer sends requests as a Poisson process of the given mean rate:
// the gaps between requests are independent and exponentially distributed.
// The gaps are derived from seed and the hit number alone, so Due is a
// pure function of hit; it is computed incrementally and is cheap for
// increasing hits. A PoissonPacer is not safe for concurrent use.
func PoissonPacer(rate float64, seed int64) Pacer {
	return &poissonPacer{rate: rate, key: mix64(uint64(seed) + golden)}
}

type poissonPacer struct {
	rate float64
	key  uint64 // from the seed
	// Memo of the last answer: Due(n) = sum of gap(0..n-1).
	n         int64
	sum, prev float64 // Due(n) and Due(n-1) in seconds
}

func (p *poissonPacer) Rate() float64 { return p.rate }

func (p *poissonPacer) Due(hit int64) time.Duration {
	if p.rate <= 0 {
		return math.MaxInt64
	}
	if hit == p.n-1 {
		return time.Duration(p.prev * 1e9)
	}
	if hit < p.n {
		p.n, p.sum = 0, 0
	}
	for p.n < hit {
		p.prev = p.sum
		p.sum += p.gap(p.n)
		p.n++
	}
	return time.Duration(p.sum * 1e9)
}

// gap returns the i'th inter-arrival gap in seconds: -ln(U)/rate with U
// uniform in (0,1], from SplitMix64's sequence at index i: a counter-based
// generator, so any gap can be computed on its own.
func (p *poissonPacer) gap(i int64) float64 {
	u := float64(mix64(p.key+uint64(i+1)*golden)>>11+1) / (1 << 53)
	return -math.Log(u) / p.rate
}

// golden is SplitMix64's increment, 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// mix64 is SplitMix64's output function (Steele, Lea and Flood), a
// bijection with good avalanche.
func mix64(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
