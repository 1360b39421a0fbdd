// Package loadgen is inferscale's HTTP load generator.
//
// It runs closed-loop tests, in which each simulated user sends a request,
// waits for its response and sends the next (SageMaker Inference
// Recommender's PHASES and STAIRS traffic patterns), and open-loop tests, in
// which requests arrive at a fixed rate (evenly spaced or as a Poisson
// process) whatever the server does. In an open loop, latency is measured
// from each request's intended send time, so a server that slows down
// cannot hide its queueing delay (no coordinated omission).
//
// The HTTP/1.1 client is its own: requests are serialised once, each user
// or open-loop worker keeps one keep-alive connection and parses responses
// incrementally into a reusable buffer, and latencies are recorded into
// sharded HDR histograms that are merged once per second. On Linux, closed
// loops run on one epoll event loop per CPU, as wrk does (engine_linux.go);
// elsewhere, for open loops and for https, each user or worker is a
// goroutine with a net.Conn (a crypto/tls one for https).
package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Payload is one request body and its content type.
type Payload struct {
	Body        []byte
	ContentType string
}

// Request describes the requests of a run.
type Request struct {
	URL      string      // full http or https URL, e.g. http://127.0.0.1:8080/invocations
	Method   string      // default POST
	Payloads []Payload   // cycled through; at least one
	Header   http.Header // extra headers, e.g. Accept
	Timeout  time.Duration
	// TLS configures https URLs; nil means the system's roots (which
	// SSL_CERT_FILE and SSL_CERT_DIR extend). Its ServerName defaults to
	// the URL's host; only HTTP/1.1 is offered.
	TLS *tls.Config
}

// DefaultTimeout is the per-request timeout when Request.Timeout is 0.
const DefaultTimeout = 60 * time.Second

// DefaultMaxInFlight bounds an open loop's requests in flight when
// Arrivals.MaxInFlight is 0.
const DefaultMaxInFlight = 10000

// Arrivals describes an open loop: requests arrive at Rate per second.
type Arrivals struct {
	Rate    float64 // mean requests per second
	Poisson bool    // exponential gaps instead of even spacing
	Seed    int64   // for Poisson gaps
	// MaxInFlight bounds the requests in flight; a request due while the
	// bound is reached is not sent but counted as an "overload" error.
	MaxInFlight int
}

// Pacer returns the pacer a run with a uses.
func (a Arrivals) Pacer() Pacer {
	if a.Poisson {
		return PoissonPacer(a.Rate, a.Seed)
	}
	return ConstantPacer(a.Rate)
}

// Options configure a run. Exactly one of Users and Arrivals is set.
type Options struct {
	Request  Request
	Users    Schedule  // closed loop
	Arrivals *Arrivals // open loop
	// Duration bounds the run; 0 means Users.Duration(). Required for an
	// open loop.
	Duration time.Duration
	// MaxRequests stops the run once this many requests have been issued
	// and completed; 0 means no bound.
	MaxRequests int64
	// OnInterval, if set, is called with each interval of the series as
	// it completes (every second, and for the last, possibly shorter,
	// interval), from one goroutine.
	OnInterval func(Interval)
}

// validate checks o and fills in defaults, returning the run's duration
// (0: none).
func (o *Options) validate() (time.Duration, error) {
	if (o.Users == nil) == (o.Arrivals == nil) {
		return 0, errors.New("options: set exactly one of Users (closed loop) and Arrivals (open loop)")
	}
	if o.Duration < 0 || o.MaxRequests < 0 || o.Request.Timeout < 0 {
		return 0, errors.New("options: Duration, MaxRequests and Timeout must not be negative")
	}
	if o.Request.Timeout == 0 {
		o.Request.Timeout = DefaultTimeout
	}
	d := o.Duration
	if o.Arrivals != nil {
		a := *o.Arrivals
		if !(a.Rate > 0) || a.Rate > 1e7 {
			return 0, fmt.Errorf("options: arrival rate %v must be in (0, 1e7]", a.Rate)
		}
		if a.MaxInFlight < 0 {
			return 0, errors.New("options: MaxInFlight must not be negative")
		}
		if a.MaxInFlight == 0 {
			a.MaxInFlight = DefaultMaxInFlight
		}
		o.Arrivals = &a
		if d == 0 {
			return 0, errors.New("options: an open loop needs a Duration")
		}
		return d, nil
	}
	if d == 0 {
		d = o.Users.Duration()
	}
	if d == 0 && o.MaxRequests == 0 {
		return 0, errors.New("options: a closed loop needs a Duration, a schedule with one, or MaxRequests")
	}
	return d, nil
}

// Run runs a load test and returns its result. It returns an error only
// for invalid options; failed requests are counted in the Result. It stops
// after the duration, after MaxRequests, or when ctx is done (returning
// what was measured so far), and returns only after every goroutine it
// started has ended.
func Run(ctx context.Context, o Options) (*Result, error) {
	d, err := o.validate()
	if err != nil {
		return nil, err
	}
	t, err := newTarget(o.Request)
	if err != nil {
		return nil, err
	}
	return newRunner(o, t, d).run(ctx), nil
}
