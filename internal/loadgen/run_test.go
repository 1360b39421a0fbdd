package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// okServer answers 200 to everything and counts requests.
func okServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func payloads() []Payload {
	return []Payload{{Body: []byte(`{"x":1}`), ContentType: "application/json"}}
}

// checkNoLeaks fails if goroutines of this package are still running.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "loadgen.(*runner)") || strings.Contains(g, "loadgen.(*clientConn)") || strings.Contains(g, "loadgen.(*evloop)") {
			t.Errorf("goroutine left running after Run returned:\n%s", g)
		}
	}
}

// eachEngine runs f once per closed-loop engine: event loops (on Linux)
// and a goroutine per user.
func eachEngine(t *testing.T, f func(t *testing.T)) {
	for _, e := range []string{engineAuto, engineGoroutines} {
		t.Run(e, func(t *testing.T) {
			old := useEngine
			useEngine = e
			defer func() { useEngine = old }()
			f(t)
		})
	}
}

// checkTotals checks that the result adds up and matches its series.
func checkTotals(t *testing.T, res *Result) {
	t.Helper()
	var errs int64
	for _, n := range res.Errors {
		errs += n
	}
	if res.Sent != res.Succeeded+errs+res.Unfinished {
		t.Errorf("sent %d != succeeded %d + errors %d + unfinished %d", res.Sent, res.Succeeded, errs, res.Unfinished)
	}
	var sent, ok int64
	for i, iv := range res.Series {
		if iv.Second != i {
			t.Errorf("series[%d].Second = %d", i, iv.Second)
		}
		sent += iv.Sent
		ok += iv.Succeeded
		if iv.Latency == nil || iv.Latency.TotalCount() != iv.Succeeded {
			t.Errorf("series[%d]: latency histogram does not hold its %d successes", i, iv.Succeeded)
		} else if iv.Succeeded > 0 {
			// 2 significant figures: within 1% of the interval's p99.
			p99 := time.Duration(iv.Latency.ValueAtQuantile(99)) * time.Microsecond
			if d := p99 - iv.P99; d > iv.P99/100+time.Microsecond || -d > iv.P99/100+time.Microsecond {
				t.Errorf("series[%d]: histogram p99 %v, interval P99 %v", i, p99, iv.P99)
			}
		}
	}
	if sent != res.Sent || ok != res.Succeeded {
		t.Errorf("series adds up to sent %d succeeded %d, totals are %d %d", sent, ok, res.Sent, res.Succeeded)
	}
	if got := res.Latency.TotalCount(); got != res.Succeeded {
		t.Errorf("latency histogram has %d values, want %d", got, res.Succeeded)
	}
}

func TestClosedLoopDurationAndSeries(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		srv, served := okServer(t)
		var calls []Interval
		start := time.Now()
		res, err := Run(context.Background(), Options{
			Request:    Request{URL: srv.URL + "/invocations", Payloads: payloads()},
			Users:      ConstantUsers(4, 2200*time.Millisecond),
			OnInterval: func(iv Interval) { calls = append(calls, iv) },
		})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		checkNoLeaks(t)
		checkTotals(t, res)
		if took < 2200*time.Millisecond || took > 4*time.Second {
			t.Errorf("Run took %v for a 2.5s schedule", took)
		}
		if res.Elapsed != 2200*time.Millisecond {
			t.Errorf("Elapsed = %v, want 2.2s", res.Elapsed)
		}
		if res.Succeeded < 100 || len(res.Errors) > 0 {
			t.Errorf("succeeded %d errors %v (%s)", res.Succeeded, res.Errors, res.FirstError)
		}
		if res.Unfinished > 4 {
			t.Errorf("unfinished %d > 4 users", res.Unfinished)
		}
		if got := served.Load(); got < res.Succeeded {
			t.Errorf("server saw %d requests, loadgen counted %d successes", got, res.Succeeded)
		}
		// One interval per second, then the last half second.
		lengths := []time.Duration{time.Second, time.Second, 200 * time.Millisecond}
		if len(res.Series) != len(lengths) {
			t.Fatalf("series has %d intervals, want %d: %+v", len(res.Series), len(lengths), res.Series)
		}
		for i, iv := range res.Series {
			if iv.Length != lengths[i] || iv.Users != 4 || iv.Succeeded == 0 || iv.P50 <= 0 || iv.P50 > iv.P99 {
				t.Errorf("interval %d: %+v", i, iv)
			}
			if iv.InFlight < 0 || iv.InFlight > 4 {
				t.Errorf("interval %d: in flight %d", i, iv.InFlight)
			}
		}
		if len(calls) != len(res.Series) {
			t.Errorf("OnInterval called %d times for %d intervals", len(calls), len(res.Series))
		}
		if res.Throughput() <= 0 || res.ErrorRate() != 0 || res.Quantile(0.5) <= 0 {
			t.Errorf("throughput %v error rate %v p50 %v", res.Throughput(), res.ErrorRate(), res.Quantile(0.5))
		}
	})
}

func TestMaxRequests(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		for _, tt := range []struct {
			name string
			o    Options
		}{
			{name: "closed loop", o: Options{Users: ConstantUsers(8, 0), MaxRequests: 1000}},
			{name: "closed loop, one user", o: Options{Users: ConstantUsers(1, 0), MaxRequests: 7}},
			{name: "open loop", o: Options{Arrivals: &Arrivals{Rate: 2000}, Duration: 10 * time.Second, MaxRequests: 300}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv, served := okServer(t)
				tt.o.Request = Request{URL: srv.URL, Payloads: payloads()}
				res, err := Run(context.Background(), tt.o)
				if err != nil {
					t.Fatal(err)
				}
				checkNoLeaks(t)
				checkTotals(t, res)
				if res.Sent != tt.o.MaxRequests || res.Succeeded != tt.o.MaxRequests || served.Load() != tt.o.MaxRequests {
					t.Errorf("sent %d succeeded %d served %d, want %d each", res.Sent, res.Succeeded, served.Load(), tt.o.MaxRequests)
				}
				if res.Elapsed > 5*time.Second {
					t.Errorf("elapsed %v: did not stop at MaxRequests", res.Elapsed)
				}
			})
		}
	})
}

// blockingServer holds every request until the test ends or its client
// goes away.
func blockingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var arrived atomic.Int64
	done := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		io.Copy(io.Discard, r.Body) // lets the server notice a client going away
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); s.Close() })
	return s, &arrived
}

func TestContextCancel(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		for _, tt := range []struct {
			name string
			o    Options
		}{
			{name: "closed loop", o: Options{Users: ConstantUsers(4, 0), Duration: time.Minute}},
			{name: "open loop", o: Options{Arrivals: &Arrivals{Rate: 100}, Duration: time.Minute}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv, arrived := blockingServer(t)
				tt.o.Request = Request{URL: srv.URL, Payloads: payloads()}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				start := time.Now()
				res, err := Run(ctx, tt.o)
				if err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("Run returned %v after start, 300ms after cancel expected", took)
				}
				checkNoLeaks(t)
				checkTotals(t, res)
				if res.Succeeded != 0 || len(res.Errors) != 0 || res.Unfinished == 0 || res.Unfinished != res.Sent {
					t.Errorf("sent %d succeeded %d errors %v unfinished %d: want all unfinished", res.Sent, res.Succeeded, res.Errors, res.Unfinished)
				}
				if res.Elapsed < 250*time.Millisecond || res.Elapsed > time.Second {
					t.Errorf("elapsed %v", res.Elapsed)
				}
				if arrived.Load() == 0 {
					t.Errorf("no request reached the server")
				}
			})
		}
	})
}

func TestErrorClasses(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		status := func(code int) string {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(code)
				w.Write([]byte("model says no"))
			}))
			t.Cleanup(s.Close)
			return s.URL
		}
		slow := func() string {
			s, _ := blockingServer(t)
			return s.URL
		}
		refused := func() string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // nothing listens there now
			return "http://" + addr + "/"
		}
		garbage := func() string {
			return startRawServerWith(t, "SSH-2.0-OpenSSH_9.2\r\n\r\n").url()
		}
		tests := []struct {
			name      string
			url       string
			class     string
			firstErr  string
			timeout   time.Duration
			requests  int64
			unchecked bool
		}{
			{name: "404", url: status(404), class: Class4xx, firstErr: `HTTP 404: "model says no"`},
			{name: "429", url: status(429), class: Class4xx, firstErr: "HTTP 429"},
			{name: "500", url: status(500), class: Class5xx, firstErr: `HTTP 500: "model says no"`},
			{name: "503", url: status(503), class: Class5xx, firstErr: "HTTP 503"},
			{name: "302", url: status(302), class: Class3xx, firstErr: "HTTP 302"},
			{name: "timeout", url: slow(), class: ClassTimeout, timeout: 50 * time.Millisecond, requests: 3, firstErr: "timeout"},
			{name: "connection refused", url: refused(), class: ClassConnection, firstErr: "refused"},
			{name: "not HTTP", url: garbage(), class: ClassProtocol, firstErr: "malformed response"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n := tt.requests
				if n == 0 {
					n = 10
				}
				res, err := Run(context.Background(), Options{
					Request:     Request{URL: tt.url, Payloads: payloads(), Timeout: tt.timeout},
					Users:       ConstantUsers(2, 0),
					Duration:    10 * time.Second,
					MaxRequests: n,
				})
				if err != nil {
					t.Fatal(err)
				}
				checkNoLeaks(t)
				checkTotals(t, res)
				if res.Errors[tt.class] != n || res.Succeeded != 0 || len(res.Errors) != 1 {
					t.Errorf("errors %v succeeded %d, want %d %s", res.Errors, res.Succeeded, n, tt.class)
				}
				if !strings.Contains(res.FirstError, tt.firstErr) {
					t.Errorf("FirstError = %q, want it to mention %q", res.FirstError, tt.firstErr)
				}
				if res.ErrorRate() != 1 {
					t.Errorf("ErrorRate = %v, want 1", res.ErrorRate())
				}
			})
		}
	})
}

func TestPayloadCycling(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		var mu sync.Mutex
		seen := map[string]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen[r.Method+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("Accept")+" "+string(b)]++
			mu.Unlock()
		}))
		defer srv.Close()
		ps := []Payload{
			{Body: []byte(`{"instances":[1]}`), ContentType: "application/json"},
			{Body: []byte("1,2,3\n"), ContentType: "text/csv"},
			{Body: []byte{0, 1, 2, 255}, ContentType: "application/octet-stream"},
		}
		res, err := Run(context.Background(), Options{
			Request:     Request{URL: srv.URL + "/invocations", Payloads: ps, Header: http.Header{"Accept": {"application/json"}}},
			Users:       ConstantUsers(1, 0),
			MaxRequests: 30,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Succeeded != 30 {
			t.Fatalf("succeeded %d: %v %s", res.Succeeded, res.Errors, res.FirstError)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ps {
			key := "POST " + p.ContentType + " application/json " + string(p.Body)
			if seen[key] != 10 {
				t.Errorf("server saw %q %d times, want 10 (all: %v)", key, seen[key], seen)
			}
		}
	})
}

// serialServer handles one request at a time, each taking service time;
// it records when each request arrived.
func serialServer(t *testing.T, service time.Duration) (*httptest.Server, func() []time.Time) {
	var mu sync.Mutex
	var arrivals []time.Time
	sem := make(chan struct{}, 1)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		io.Copy(io.Discard, r.Body) // lets the server notice a client going away
		select {
		case sem <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		time.Sleep(service)
		<-sem
	}))
	t.Cleanup(s.Close)
	return s, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), arrivals...)
	}
}

func TestOpenLoopKeepsScheduleWhenServerSlows(t *testing.T) {
	// The server serves 50 requests/s one at a time; 200/s are offered.
	srv, arrivals := serialServer(t, 20*time.Millisecond)
	start := time.Now()
	res, err := Run(context.Background(), Options{
		Request:  Request{URL: srv.URL, Payloads: payloads()},
		Arrivals: &Arrivals{Rate: 200},
		Duration: 1500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkNoLeaks(t)
	checkTotals(t, res)
	// Arrivals kept their schedule: all 300 sent, and the server saw
	// about 200 in the first second although it completed only ~50.
	if res.Sent != 300 {
		t.Errorf("sent %d, want 300", res.Sent)
	}
	var first int
	for _, a := range arrivals() {
		if a.Sub(start) < time.Second {
			first++
		}
	}
	if first < 180 || first > 210 {
		t.Errorf("server saw %d arrivals in the first second, want about 200", first)
	}
	if res.Succeeded < 40 || res.Succeeded > 90 {
		t.Errorf("succeeded %d, want about 75 (50/s)", res.Succeeded)
	}
	// Latency from the intended send time grows with the queue: the n'th
	// response comes about n*15ms after it was due.
	if p50 := res.Quantile(0.5); p50 < 200*time.Millisecond {
		t.Errorf("p50 %v: queueing delay not measured", p50)
	}
	// At the end of the first second, about 200-50 are in flight.
	if len(res.Series) != 2 || res.Series[0].InFlight < 120 || res.Series[0].InFlight > 170 {
		t.Errorf("in flight did not grow: %+v", res.Series)
	}
	for _, iv := range res.Series {
		if iv.OfferedRate != 200 {
			t.Errorf("interval %d offered rate %v", iv.Second, iv.OfferedRate)
		}
	}
}

func TestOpenLoopRate(t *testing.T) {
	for _, tt := range []struct {
		name     string
		arrivals Arrivals
		tol      float64
	}{
		{name: "constant", arrivals: Arrivals{Rate: 1000}, tol: 0.01},
		{name: "poisson", arrivals: Arrivals{Rate: 1000, Poisson: true, Seed: 9}, tol: 0.1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := startRawServer(t)
			res, err := Run(context.Background(), Options{
				Request:  Request{URL: url, Payloads: payloads()},
				Arrivals: &tt.arrivals,
				Duration: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkNoLeaks(t)
			checkTotals(t, res)
			want := 1000.0
			if got := float64(res.Sent); got < want*(1-tt.tol) || got > want*(1+tt.tol) {
				t.Errorf("sent %v, want %v within %v%%", got, want, 100*tt.tol)
			}
			if res.Succeeded+res.Unfinished != res.Sent {
				t.Errorf("errors %v (%s)", res.Errors, res.FirstError)
			}
			// With a fast server few connections are needed.
			for _, iv := range res.Series {
				if iv.InFlight > 50 {
					t.Errorf("interval %d: %d in flight", iv.Second, iv.InFlight)
				}
			}
		})
	}
}

func TestOpenLoopOverload(t *testing.T) {
	srv, _ := blockingServer(t)
	res, err := Run(context.Background(), Options{
		Request:  Request{URL: srv.URL, Payloads: payloads(), Timeout: 5 * time.Second},
		Arrivals: &Arrivals{Rate: 100, MaxInFlight: 3},
		Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkNoLeaks(t)
	checkTotals(t, res)
	if res.Sent != 100 || res.Errors[ClassOverload] != 97 || res.Unfinished != 3 {
		t.Errorf("sent %d errors %v unfinished %d; want 100 sent, 97 overload, 3 unfinished", res.Sent, res.Errors, res.Unfinished)
	}
	if !strings.Contains(res.FirstError, "overload") {
		t.Errorf("FirstError = %q", res.FirstError)
	}
}

func TestClosedLoopFollowsSchedule(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		// Track the server's concurrency: it should follow the users.
		var cur, peak atomic.Int64
		var mu sync.Mutex
		peaks := map[int]int64{} // second -> peak concurrency
		start := time.Now()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := cur.Add(1)
			// Users told to quit at 1s finish their request first: skip 50ms.
			if at := time.Since(start); at < time.Second || at > 1050*time.Millisecond {
				sec := int(at / time.Second)
				mu.Lock()
				if n > peaks[sec] {
					peaks[sec] = n
				}
				mu.Unlock()
			}
			if n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(5 * time.Millisecond)
			cur.Add(-1)
		}))
		defer srv.Close()
		res, err := Run(context.Background(), Options{
			Request: Request{URL: srv.URL, Payloads: payloads()},
			// 1 user, +180/min (one every 333ms) for 1s, then 2 users for 1s.
			Users: Phases(Phase{InitialUsers: 1, SpawnRatePerMinute: 180, Duration: time.Second}, Phase{InitialUsers: 2, Duration: time.Second}),
		})
		if err != nil {
			t.Fatal(err)
		}
		checkNoLeaks(t)
		checkTotals(t, res)
		// Just before 1s, 1+2 users are active (the third spawn is due at 1s,
		// when the first phase ends); then the second phase's 2.
		if len(res.Series) != 2 || res.Series[0].Users != 3 || res.Series[1].Users != 2 {
			t.Errorf("series users: %+v", res.Series)
		}
		mu.Lock()
		defer mu.Unlock()
		if peaks[0] < 3 || peaks[0] > 4 || peaks[1] > 2 {
			t.Errorf("server concurrency peaks per second %v, want 3-4 then at most 2", peaks)
		}
	})
}

func TestStaleAndClosingConnections(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		for _, tt := range []struct {
			name string
			resp string
		}{
			// The server says it will close: the client reconnects.
			{name: "Connection: close", resp: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},
			// A body delimited by closing the connection.
			{name: "body until EOF", resp: "HTTP/1.0 200 OK\r\n\r\nok"},
			// Chunked.
			{name: "chunked", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := startRawServerWith(t, tt.resp)
				res, err := Run(context.Background(), Options{
					Request:     Request{URL: s.url(), Payloads: payloads()},
					Users:       ConstantUsers(2, 0),
					Duration:    5 * time.Second,
					MaxRequests: 50,
				})
				if err != nil {
					t.Fatal(err)
				}
				if res.Succeeded != 50 {
					t.Errorf("succeeded %d errors %v: %s", res.Succeeded, res.Errors, res.FirstError)
				}
			})
		}
		t.Run("server closes kept-alive connections silently", func(t *testing.T) {
			// Each connection is closed after one response that did not say
			// so: the next request on it fails before any response byte, and
			// the client must retry it once on a new connection.
			s := startRawServerClosing(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true)
			res, err := Run(context.Background(), Options{
				Request:     Request{URL: s.url(), Payloads: payloads()},
				Users:       ConstantUsers(1, 0),
				Duration:    5 * time.Second,
				MaxRequests: 20,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Succeeded != 20 {
				t.Errorf("succeeded %d errors %v: %s", res.Succeeded, res.Errors, res.FirstError)
			}
			if got := s.conns.Load(); got != 20 {
				t.Errorf("server accepted %d connections for 20 requests", got)
			}
		})
	})
}

func TestOptionsValidation(t *testing.T) {
	req := Request{URL: "http://127.0.0.1:1/", Payloads: payloads()}
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{name: "neither loop", o: Options{Request: req, Duration: time.Second}, want: "exactly one"},
		{name: "both loops", o: Options{Request: req, Users: ConstantUsers(1, 0), Arrivals: &Arrivals{Rate: 1}, Duration: time.Second}, want: "exactly one"},
		{name: "open loop without duration", o: Options{Request: req, Arrivals: &Arrivals{Rate: 1}}, want: "Duration"},
		{name: "zero rate", o: Options{Request: req, Arrivals: &Arrivals{}, Duration: time.Second}, want: "rate"},
		{name: "unbounded closed loop", o: Options{Request: req, Users: ConstantUsers(1, 0)}, want: "closed loop needs"},
		{name: "negative duration", o: Options{Request: req, Users: ConstantUsers(1, 0), Duration: -1}, want: "negative"},
		{name: "bad url", o: Options{Request: Request{URL: "ftp://x/", Payloads: payloads()}, Users: ConstantUsers(1, time.Second)}, want: "scheme"},
		{name: "no payloads", o: Options{Request: Request{URL: "http://x/"}, Users: ConstantUsers(1, time.Second)}, want: "payload"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	eachEngine(t, func(t *testing.T) {
		url := startRawServer(t)
		res, err := Run(context.Background(), Options{
			Request:     Request{URL: url, Payloads: payloads()},
			Users:       ConstantUsers(2, 0),
			MaxRequests: 200,
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Sent       int64            `json:"sent"`
			Succeeded  int64            `json:"succeeded"`
			Errors     map[string]int64 `json:"errors"`
			Throughput float64          `json:"throughput_per_second"`
			Latency    LatencySummary   `json:"latency"`
			Series     []Interval       `json:"series"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Sent != 200 || got.Succeeded != 200 || got.Errors == nil || got.Throughput <= 0 {
			t.Errorf("decoded %+v from %s", got, b)
		}
		l := got.Latency
		if l.Count != 200 || !(l.MinMs > 0 && l.MinMs <= l.P50Ms && l.P50Ms <= l.P99Ms && l.P99Ms <= l.MaxMs) {
			t.Errorf("latency %+v", l)
		}
		if want := float64(res.Quantile(0.99).Microseconds()) / 1000; l.P99Ms != want {
			t.Errorf("p99_ms %v, want %v", l.P99Ms, want)
		}
		if len(got.Series) != len(res.Series) || got.Series[0].P99 != res.Series[0].P99 || got.Series[0].Length != res.Series[0].Length.Truncate(time.Microsecond) {
			t.Errorf("series round trip: %+v vs %+v", got.Series, res.Series)
		}
		for _, key := range []string{`"elapsed_ms"`, `"p99_9_ms"`, `"length_ms"`, `"in_flight"`, `"offered_rate"`} {
			if !strings.Contains(string(b), key) {
				t.Errorf("JSON lacks %s: %s", key, b)
			}
		}
	})
}

func TestEpollEngineAvailable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("event loops are Linux only")
	}
	tg, err := newTarget(Request{URL: "http://127.0.0.1:1/", Payloads: payloads()})
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(Options{Users: ConstantUsers(1, time.Second)}, tg, time.Second)
	e := newEpollEngine(r)
	if e == nil {
		t.Fatal("no event loops on Linux: closed loops would fall back to goroutines")
	}
	e.close()
}

func TestLargeMessages(t *testing.T) {
	big := make([]byte, 8<<20) // larger than a socket buffer: writes go in parts
	for i := range big {
		big[i] = byte(i * 7)
	}
	tests := []struct {
		name    string
		payload []byte
		handler http.HandlerFunc
	}{
		{
			name:    "8 MiB request bodies",
			payload: big,
			handler: func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if len(b) != len(big) || b[len(b)-1] != big[len(big)-1] {
					http.Error(w, "short body", http.StatusBadRequest)
				}
			},
		},
		{
			name:    "1 MiB chunked responses",
			payload: []byte("x"),
			handler: func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 64; i++ {
					w.Write(big[:16<<10])
					w.(http.Flusher).Flush()
				}
			},
		},
		{
			name:    "1 MiB responses with a length",
			payload: []byte("x"),
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1048576")
				w.Write(big[:1<<20])
			},
		},
		{
			name:    "a 20 KiB header",
			payload: []byte("x"),
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Big", strings.Repeat("h", 20<<10))
				w.Write([]byte("ok"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			eachEngine(t, func(t *testing.T) {
				res, err := Run(context.Background(), Options{
					Request:     Request{URL: srv.URL, Payloads: []Payload{{Body: tt.payload, ContentType: "application/octet-stream"}}, Timeout: 10 * time.Second},
					Users:       ConstantUsers(3, 0),
					Duration:    20 * time.Second,
					MaxRequests: 12,
				})
				if err != nil {
					t.Fatal(err)
				}
				if res.Succeeded != 12 {
					t.Errorf("succeeded %d errors %v: %s", res.Succeeded, res.Errors, res.FirstError)
				}
			})
		})
	}
}
