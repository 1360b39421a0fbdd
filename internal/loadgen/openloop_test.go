package loadgen

import (
	"testing"
	"time"
)

func TestIdlePool(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var p idlePool
	ws := make([]*openWorker, 4)
	for i := range ws {
		ws[i] = &openWorker{next: make(chan time.Time, 1)}
		if !p.put(ws[i], t0.Add(time.Duration(i)*time.Second)) {
			t.Fatal("put on an open pool failed")
		}
	}
	// Last in, first out.
	if got := p.take(); got != ws[3] {
		t.Fatalf("take returned worker %v, want the most recently idle", got)
	}
	p.put(ws[3], t0.Add(10*time.Second))
	// Idle since before t0+2s: ws[0] and ws[1] end, ws[2] and ws[3] stay.
	if n := p.reap(t0.Add(2 * time.Second)); n != 2 {
		t.Fatalf("reaped %d, want 2", n)
	}
	for i, w := range ws {
		select {
		case _, ok := <-w.next:
			if ok || i >= 2 {
				t.Errorf("worker %d: channel closed %v", i, !ok)
			}
		default:
			if i < 2 {
				t.Errorf("worker %d not ended", i)
			}
		}
	}
	// The most recently used worker stays, however long it has idled.
	if n := p.reap(t0.Add(time.Hour)); n != 1 {
		t.Fatalf("reaped %d, want 1 (all but the last)", n)
	}
	if got := p.take(); got != ws[3] {
		t.Fatalf("take after reaping = %v, want the last worker", got)
	}
	if p.take() != nil {
		t.Fatal("pool should be empty")
	}
	p.put(ws[3], t0)
	p.close()
	if _, ok := <-ws[3].next; ok {
		t.Error("close left an idle worker running")
	}
	if p.put(ws[2], t0) {
		t.Error("put succeeded on a closed pool")
	}
}
