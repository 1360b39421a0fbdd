package loadgen

import (
	"encoding/json"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Error classes. A failed request is counted under exactly one.
const (
	Class3xx        = "3xx"        // a redirect: not followed, not a success
	Class4xx        = "4xx"        // a client error status, throttling (429) included
	Class5xx        = "5xx"        // a server error status
	ClassTimeout    = "timeout"    // no complete response within Request.Timeout
	ClassConnection = "connection" // refused, reset or closed connections
	ClassProtocol   = "protocol"   // a response that is not valid HTTP/1.x
	ClassOverload   = "overload"   // open loop: not sent, MaxInFlight requests already in flight
)

// classes lists the error classes in the order of their counters.
var classes = [...]string{Class3xx, Class4xx, Class5xx, ClassTimeout, ClassConnection, ClassProtocol, ClassOverload}

const (
	c3xx = iota
	c4xx
	c5xx
	cTimeout
	cConnection
	cProtocol
	cOverload
	numClasses
	cOK         = -1 // success
	cUnfinished = -2 // cut off by the end of the run
)

// Histogram range: 1µs to one hour, 3 significant figures.
const (
	histMin     = 1
	histMax     = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigFigs) }

// shard is one of several independent sets of counters that workers record
// into, so that recording never serialises all workers on one lock. The
// collector takes each shard's lock once per interval.
type shard struct {
	sent atomic.Int64 // requests started (or dropped) in this interval

	mu         sync.Mutex
	ok         int64
	unfinished int64
	errs       [numClasses]int64
	hist       *hdrhistogram.Histogram // latency of successes, µs

	_ [64]byte // keep shards on separate cache lines
}

// finish records the outcome of one request started with sent.Add(1).
func (s *shard) finish(class int, latency time.Duration) {
	us := int64(latency / time.Microsecond)
	if us > histMax {
		us = histMax
	}
	s.mu.Lock()
	switch class {
	case cOK:
		s.ok++
		_ = s.hist.RecordValue(us) // cannot fail: us is clamped to the range
	case cUnfinished:
		s.unfinished++
	default:
		s.errs[class]++
	}
	s.mu.Unlock()
}

// recorder collects the shards into per-interval and total statistics.
// Only the run's main goroutine calls its methods other than shard and
// failure.
type recorder struct {
	shards []shard

	firstErr atomic.Pointer[string]

	interval *hdrhistogram.Histogram
	total    *hdrhistogram.Histogram

	// Cumulative counts, for totals and the in-flight gauge.
	sent, ok, unfinished int64
	errs                 [numClasses]int64
}

func newRecorder(n int) *recorder {
	r := &recorder{shards: make([]shard, n), interval: newHist(), total: newHist()}
	for i := range r.shards {
		r.shards[i].hist = newHist()
	}
	return r
}

func (r *recorder) shard(i int) *shard { return &r.shards[i%len(r.shards)] }

// failure keeps msg as the run's FirstError if it is the first failure.
func (r *recorder) failure(msg string) {
	if r.firstErr.Load() == nil {
		r.firstErr.CompareAndSwap(nil, &msg)
	}
}

// collect gathers everything recorded since the last call into an
// Interval (without its time fields) and adds it to the totals.
func (r *recorder) collect() Interval {
	r.interval.Reset()
	var iv Interval
	var errs [numClasses]int64
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		// Read sent under the lock: a worker adds to sent before it
		// finishes, so sent >= completions here and in-flight >= 0.
		iv.Sent += s.sent.Swap(0)
		iv.Succeeded += s.ok
		iv.Unfinished += s.unfinished
		for c := range errs {
			errs[c] += s.errs[c]
		}
		r.interval.Merge(s.hist)
		s.ok, s.unfinished, s.errs = 0, 0, [numClasses]int64{}
		s.hist.Reset()
		s.mu.Unlock()
	}
	r.total.Merge(r.interval)
	r.sent += iv.Sent
	r.ok += iv.Succeeded
	r.unfinished += iv.Unfinished
	completed := r.ok + r.unfinished
	iv.Errors = map[string]int64{}
	for c, n := range errs {
		r.errs[c] += n
		completed += r.errs[c]
		if n > 0 {
			iv.Errors[classes[c]] = n
		}
	}
	iv.InFlight = int(r.sent - completed)
	iv.Latency = compactCopy(r.interval)
	iv.P50 = quantile(r.interval, 0.50)
	iv.P95 = quantile(r.interval, 0.95)
	iv.P99 = quantile(r.interval, 0.99)
	return iv
}

// compactCopy returns a copy of h with 2 significant figures and a range
// up to h's largest value, so that a long series of them stays small
// (about 8 KiB for an interval whose latencies stay under 16ms).
func compactCopy(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	max := h.Max()
	if max < 2 {
		max = 2
	}
	c := hdrhistogram.New(histMin, max, 2)
	c.Merge(h)
	return c
}

func quantile(h *hdrhistogram.Histogram, q float64) time.Duration {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Result is the outcome of a run.
type Result struct {
	Start   time.Time
	Elapsed time.Duration
	// Sent counts requests issued, including open-loop requests dropped
	// for overload. Sent = Succeeded + the sum of Errors + Unfinished.
	Sent, Succeeded int64
	// Unfinished counts requests cut off by the end of the run (its
	// duration or its context), which are neither successes nor errors.
	Unfinished int64
	Errors     map[string]int64 // by class; see the Class constants
	// Latency of successful requests in microseconds. In an open loop it
	// is measured from the intended send time.
	Latency *hdrhistogram.Histogram
	Series  []Interval
	// FirstError describes the first failure, for humans: the status and
	// a snippet of the body, or the network error.
	FirstError string
}

// Throughput returns successful requests per second over Elapsed.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Succeeded) / r.Elapsed.Seconds()
}

// ErrorRate returns the fraction of completed requests that failed
// (overload drops included); unfinished requests are not counted.
func (r *Result) ErrorRate() float64 {
	var e int64
	for _, n := range r.Errors {
		e += n
	}
	if e+r.Succeeded == 0 {
		return 0
	}
	return float64(e) / float64(e+r.Succeeded)
}

// Quantile returns the latency at quantile q (0.95 for p95) of successful
// requests, 0 if there were none.
func (r *Result) Quantile(q float64) time.Duration { return quantile(r.Latency, q) }

// Interval is the statistics of one interval of a run, normally one second.
type Interval struct {
	Second int           // index: interval Second covers [Second, Second+1) s after the start
	Length time.Duration // 1s, or less for the run's last interval
	// Sent counts requests started in the interval; Succeeded, Errors and
	// Unfinished count those that completed in it.
	Sent, Succeeded, Unfinished int64
	Errors                      map[string]int64
	P50, P95, P99               time.Duration // latency of the interval's successes
	// Latency is the interval's latency histogram in microseconds, with
	// 2 significant figures, for merging intervals into windows. Not in
	// the JSON form.
	Latency     *hdrhistogram.Histogram
	InFlight    int     // requests in flight at the interval's end
	Users       int     // closed loop: active users at the interval's end
	OfferedRate float64 // open loop: the intended arrival rate, per second
}

// Summary is the JSON form of a Result. Durations are in milliseconds, in
// fields whose names end in _ms.
type Summary struct {
	Start      time.Time        `json:"start"`
	ElapsedMs  float64          `json:"elapsed_ms"`
	Sent       int64            `json:"sent"`
	Succeeded  int64            `json:"succeeded"`
	Unfinished int64            `json:"unfinished"`
	Errors     map[string]int64 `json:"errors"`
	Throughput float64          `json:"throughput_per_second"`
	ErrorRate  float64          `json:"error_rate"`
	Latency    LatencySummary   `json:"latency"`
	FirstError string           `json:"first_error,omitempty"`
	Series     []Interval       `json:"series"`
}

// LatencySummary is a latency distribution in milliseconds.
type LatencySummary struct {
	Count  int64   `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Summary returns the JSON form of r.
func (r *Result) Summary() Summary {
	s := Summary{
		Start:      r.Start,
		ElapsedMs:  ms(r.Elapsed),
		Sent:       r.Sent,
		Succeeded:  r.Succeeded,
		Unfinished: r.Unfinished,
		Errors:     r.Errors,
		Throughput: r.Throughput(),
		ErrorRate:  r.ErrorRate(),
		FirstError: r.FirstError,
		Series:     r.Series,
	}
	if s.Errors == nil {
		s.Errors = map[string]int64{}
	}
	if s.Series == nil {
		s.Series = []Interval{}
	}
	if h := r.Latency; h != nil && h.TotalCount() > 0 {
		us := func(v int64) float64 { return float64(v) / 1000 }
		s.Latency = LatencySummary{
			Count:  h.TotalCount(),
			MinMs:  us(h.Min()),
			MeanMs: math.Round(h.Mean()) / 1000,
			P50Ms:  ms(r.Quantile(0.50)),
			P90Ms:  ms(r.Quantile(0.90)),
			P95Ms:  ms(r.Quantile(0.95)),
			P99Ms:  ms(r.Quantile(0.99)),
			P999Ms: ms(r.Quantile(0.999)),
			MaxMs:  us(h.Max()),
		}
	}
	return s
}

// MarshalJSON encodes r as its Summary.
func (r *Result) MarshalJSON() ([]byte, error) { return json.Marshal(r.Summary()) }

func ms(d time.Duration) float64 { return float64(d/time.Microsecond) / 1000 }

type intervalJSON struct {
	Second      int              `json:"second"`
	LengthMs    float64          `json:"length_ms"`
	Sent        int64            `json:"sent"`
	Succeeded   int64            `json:"succeeded"`
	Unfinished  int64            `json:"unfinished"`
	Errors      map[string]int64 `json:"errors"`
	P50Ms       float64          `json:"p50_ms"`
	P95Ms       float64          `json:"p95_ms"`
	P99Ms       float64          `json:"p99_ms"`
	InFlight    int              `json:"in_flight"`
	Users       int              `json:"users"`
	OfferedRate float64          `json:"offered_rate"`
}

// MarshalJSON encodes iv with durations in milliseconds.
func (iv Interval) MarshalJSON() ([]byte, error) {
	e := iv.Errors
	if e == nil {
		e = map[string]int64{}
	}
	return json.Marshal(intervalJSON{
		Second: iv.Second, LengthMs: ms(iv.Length),
		Sent: iv.Sent, Succeeded: iv.Succeeded, Unfinished: iv.Unfinished, Errors: e,
		P50Ms: ms(iv.P50), P95Ms: ms(iv.P95), P99Ms: ms(iv.P99),
		InFlight: iv.InFlight, Users: iv.Users, OfferedRate: iv.OfferedRate,
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	var j intervalJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d := func(ms float64) time.Duration { return time.Duration(math.Round(ms*1000)) * time.Microsecond }
	*iv = Interval{
		Second: j.Second, Length: d(j.LengthMs),
		Sent: j.Sent, Succeeded: j.Succeeded, Unfinished: j.Unfinished, Errors: j.Errors,
		P50: d(j.P50Ms), P95: d(j.P95Ms), P99: d(j.P99Ms),
		InFlight: j.InFlight, Users: j.Users, OfferedRate: j.OfferedRate,
	}
	return nil
}
