package loadgen

import (
	"fmt"
	"sync"
	"time"
)

// idleTimeout is how long an open loop keeps a worker, and its
// connection, that has had no request to send. After a burst of slow
// responses has made many connections, the excess ones close instead of
// adding to the server's load.
const idleTimeout = 2 * time.Second

// openWorker is a worker of an open loop, with the channel on which the
// dispatcher hands it the intended send time of its next request.
type openWorker struct {
	w         *worker
	next      chan time.Time // buffered: the dispatcher never blocks
	idleSince time.Time
}

// idlePool is a stack of idle open-loop workers. The dispatcher takes the
// most recently idle one, so the fewest connections stay in use and the
// idle ones at the bottom can be closed.
type idlePool struct {
	mu     sync.Mutex
	idle   []*openWorker // most recently idle last
	closed bool
}

// put makes ow available again; it returns false once the pool is closed
// (the worker should end).
func (p *idlePool) put(ow *openWorker, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	ow.idleSince = now
	p.idle = append(p.idle, ow)
	return true
}

// take returns the most recently idle worker, or nil.
func (p *idlePool) take() *openWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	ow := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return ow
}

// reap ends the workers idle since before cutoff, keeping the most
// recently used one, and returns how many it ended.
func (p *idlePool) reap(cutoff time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for n < len(p.idle)-1 && p.idle[n].idleSince.Before(cutoff) {
		close(p.idle[n].next)
		n++
	}
	if n > 0 {
		p.idle = append(p.idle[:0], p.idle[n:]...)
	}
	return n
}

// close ends the idle workers; busy ones end when they are done.
func (p *idlePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, ow := range p.idle {
		close(ow.next)
	}
	p.idle = nil
}

// dispatch is an open loop's pacemaker. It hands each due request to an
// idle worker, starts a new worker when none is idle, and drops the
// request as overload when MaxInFlight workers are busy. It never waits
// for a response, so the arrivals keep their schedule.
func (r *runner) dispatch(p Pacer) {
	defer r.wg.Done()
	var pool idlePool
	defer pool.close()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sl := newSleeper()
	defer sl.close()
	workers := 0 // not ended; each has at most one request in flight
	nextReap := r.start.Add(idleTimeout)
	for hit := int64(0); ; hit++ {
		due := p.Due(hit)
		if due >= r.end {
			return
		}
		wait := due - time.Since(r.start)
		if wait > 2*coarseTimer {
			// Long waits on an interruptible timer, the last stretch
			// with a precise sleep.
			timer.Reset(wait - coarseTimer)
			select {
			case <-timer.C:
			case <-r.stopCtx.Done():
				return
			}
			wait = due - time.Since(r.start)
		}
		sl.sleep(wait)
		if r.stopping.Load() || !r.claim() {
			return
		}
		at := r.start.Add(due)
		if now := time.Now(); now.After(nextReap) {
			workers -= pool.reap(now.Add(-idleTimeout))
			nextReap = now.Add(idleTimeout / 10)
		}
		if ow := pool.take(); ow != nil {
			ow.next <- at
			continue
		}
		if workers < r.o.Arrivals.MaxInFlight {
			ow := &openWorker{w: r.newWorker(), next: make(chan time.Time, 1)}
			if !r.spawn(ow.w, func() { r.runOpenWorker(ow, at, &pool) }) {
				return
			}
			workers++
			continue
		}
		sh := r.rec.shard(0)
		sh.sent.Add(1)
		sh.finish(cOverload, 0)
		r.rec.failure(fmt.Sprintf("overload: %d requests already in flight", r.o.Arrivals.MaxInFlight))
	}
}

func (r *runner) runOpenWorker(ow *openWorker, first time.Time, pool *idlePool) {
	at := first
	for {
		r.serve(ow.w, at)
		if !pool.put(ow, time.Now()) {
			return
		}
		var ok bool
		if at, ok = <-ow.next; !ok {
			return
		}
	}
}
