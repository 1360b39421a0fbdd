package loadgen

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// coarseTimer is the resolution of the runtime's timers when the program is
// otherwise idle.
const coarseTimer = time.Millisecond

// pollEvery is how often a closed loop re-reads its user schedule.
const pollEvery = 10 * time.Millisecond

// runner is one run. The goroutine that calls run owns it; workers (and
// an open loop's dispatcher) share only the fields marked as shared.
type runner struct {
	o   Options
	t   *target
	end time.Duration // elapsed time at which the run ends; 0: none
	rec *recorder

	dialer net.Dialer
	start  time.Time

	// Shared.
	stopCtx    context.Context // done once the run stops: ends dials and waits
	cancelStop context.CancelFunc
	stopping   atomic.Bool  // set (under mu) once the run stops
	issued     atomic.Int64 // requests claimed against MaxRequests
	exhaust    sync.Once
	exhausted  chan struct{} // closed once MaxRequests have been claimed
	exhaustedF atomic.Bool   // set when exhausted is closed
	mu         sync.Mutex
	live       map[*worker]struct{} // workers that have not ended, for stop
	wg         sync.WaitGroup       // workers and the dispatcher

	// Owned by the goroutine that creates workers (run's for a closed
	// loop, the dispatcher's for an open one).
	nextID int
	active []*atomic.Bool // closed loop: quit flags of users not told to quit, oldest first

	eng *epollEngine // closed loop on Linux; nil: a goroutine per user
}

// Closed-loop engines: useEngine chooses; tests run both.
const (
	engineAuto       = "auto"       // event loops where available, else goroutines
	engineGoroutines = "goroutines" // a goroutine and a net.Conn per user
)

var useEngine = engineAuto

// worker sends requests on one connection, one at a time.
type worker struct {
	c    *clientConn
	sh   *shard
	next int         // index of the next payload
	quit atomic.Bool // closed loop: stop after the current request
}

func newRunner(o Options, t *target, end time.Duration) *runner {
	n := 4 * runtime.GOMAXPROCS(0)
	if n < 8 {
		n = 8
	}
	r := &runner{
		o: o, t: t, end: end,
		rec:       newRecorder(n),
		exhausted: make(chan struct{}),
		live:      map[*worker]struct{}{},
	}
	r.stopCtx, r.cancelStop = context.WithCancel(context.Background())
	return r
}

func (r *runner) run(ctx context.Context) *Result {
	defer r.cancelStop()
	r.start = time.Now()
	closed := r.o.Users != nil
	if closed {
		if useEngine == engineAuto && r.t.tls == nil {
			// The event loops speak plain HTTP only.
			r.eng = newEpollEngine(r)
		}
		if r.eng != nil {
			r.eng.start()
		}
		r.adjustUsers(0)
	} else {
		r.wg.Add(1)
		go r.dispatch(r.o.Arrivals.Pacer())
	}

	res := &Result{Start: r.start}
	exhausted := r.exhausted
	allDone := make(chan struct{})
	waiting := false // MaxRequests reached: waiting for the last responses
	second := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var endAt time.Duration
loop:
	for {
		now := time.Since(r.start)
		next := time.Duration(second+1) * time.Second
		if r.end > 0 && r.end < next {
			next = r.end
		}
		if closed && !waiting && now+pollEvery < next {
			next = now + pollEvery
		}
		timer.Reset(next - now)
		select {
		case <-ctx.Done():
			endAt = time.Since(r.start)
			break loop
		case <-exhausted:
			// No more requests will be issued; the run ends when the
			// workers have had their last responses.
			exhausted, waiting = nil, true
			go func() { r.wg.Wait(); close(allDone) }()
		case <-allDone:
			endAt = time.Since(r.start)
			break loop
		case <-timer.C:
			now = time.Since(r.start)
			if r.end > 0 && now >= r.end {
				endAt = r.end
				break loop
			}
			if now >= time.Duration(second+1)*time.Second {
				r.emit(res, second, time.Second)
				second++
			}
			if closed && !waiting {
				r.adjustUsers(now)
			}
		}
	}
	r.stop()
	r.wg.Wait()
	if waiting {
		<-allDone
	}
	if r.eng != nil {
		r.eng.close()
	}
	if last := endAt - time.Duration(second)*time.Second; last > 0 {
		r.emit(res, second, last)
	}

	res.Elapsed = endAt
	res.Sent, res.Succeeded, res.Unfinished = r.rec.sent, r.rec.ok, r.rec.unfinished
	res.Errors = map[string]int64{}
	for c, n := range r.rec.errs {
		if n > 0 {
			res.Errors[classes[c]] = n
		}
	}
	res.Latency = r.rec.total
	if p := r.rec.firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	return res
}

// emit collects the interval that just ended and publishes it.
func (r *runner) emit(res *Result, second int, length time.Duration) {
	iv := r.rec.collect()
	iv.Second, iv.Length = second, length
	if r.o.Users != nil {
		iv.Users = len(r.active)
	} else {
		iv.OfferedRate = r.o.Arrivals.Rate
	}
	res.Series = append(res.Series, iv)
	if r.o.OnInterval != nil {
		r.o.OnInterval(iv)
	}
}

// stop ends the run: no request is sent any more and those in flight fail
// at once (and are counted as unfinished).
func (r *runner) stop() {
	r.mu.Lock()
	if !r.stopping.Load() {
		r.stopping.Store(true)
		for w := range r.live {
			w.c.interrupt()
		}
		if r.eng != nil {
			r.eng.wake()
		}
	}
	r.mu.Unlock()
	r.cancelStop()
}

// claim takes one request from the MaxRequests budget.
func (r *runner) claim() bool {
	if r.o.MaxRequests == 0 {
		return true
	}
	n := r.issued.Add(1)
	if n >= r.o.MaxRequests {
		r.exhaust.Do(func() {
			r.exhaustedF.Store(true)
			close(r.exhausted)
		})
	}
	return n <= r.o.MaxRequests
}

// isExhausted reports whether MaxRequests have all been claimed.
func (r *runner) isExhausted() bool { return r.exhaustedF.Load() }

func (r *runner) newWorker() *worker {
	id := r.nextID
	r.nextID++
	return &worker{
		c:    newClientConn(r.t, &r.dialer),
		sh:   r.rec.shard(id),
		next: id % len(r.t.requests),
	}
}

// spawn starts w running fn, unless the run is stopping.
func (r *runner) spawn(w *worker, fn func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping.Load() {
		return false
	}
	r.live[w] = struct{}{}
	r.wg.Add(1)
	go func() {
		defer func() {
			w.c.close()
			r.mu.Lock()
			delete(r.live, w)
			r.mu.Unlock()
			r.wg.Done()
		}()
		fn()
	}()
	return true
}

// adjustUsers starts or retires closed-loop users to match the schedule.
func (r *runner) adjustUsers(elapsed time.Duration) {
	want := r.o.Users.Users(elapsed)
	for len(r.active) < want {
		if r.eng != nil {
			r.active = append(r.active, r.eng.addUser(r.nextID))
			r.nextID++
			continue
		}
		w := r.newWorker()
		if !r.spawn(w, func() { r.user(w) }) {
			return
		}
		r.active = append(r.active, &w.quit)
	}
	for len(r.active) > want {
		last := len(r.active) - 1
		r.active[last].Store(true) // newest first, as Locust does
		r.active = r.active[:last]
	}
}

// user is a closed-loop user: request, response, repeat.
func (r *runner) user(w *worker) {
	for !w.quit.Load() && !r.stopping.Load() && r.claim() {
		r.serve(w, time.Now())
	}
}

// serve sends one request that was due at intended and records it.
func (r *runner) serve(w *worker, intended time.Time) {
	req := r.t.requests[w.next]
	if w.next++; w.next == len(r.t.requests) {
		w.next = 0
	}
	w.sh.sent.Add(1)
	status, err := w.c.roundTrip(r.stopCtx, req, intended.Add(r.o.Request.Timeout))
	latency := time.Since(intended)
	class := classify(status, err)
	if class != cOK && r.stopping.Load() && err != nil {
		class = cUnfinished
	}
	if class != cOK && class != cUnfinished {
		r.recordFailure(err, status, w.c.resp.snippet())
	}
	w.sh.finish(class, latency)
}

// recordFailure keeps the first failure's description for the Result.
func (r *runner) recordFailure(err error, status int, snippet []byte) {
	if r.rec.firstErr.Load() != nil {
		return
	}
	if err != nil {
		r.rec.failure(err.Error())
	} else {
		r.rec.failure(fmt.Sprintf("HTTP %d: %q", status, snippet))
	}
}
