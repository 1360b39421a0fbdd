package modelserver

import (
	"context"
	"time"
)

// referenceModel has a known capacity of exactly slots/serviceTime requests
// per unit of time: a request waits in FIFO order for a free slot, holds it
// for the service time, then answers. It uses no CPU to speak of, so its
// capacity does not depend on the machine; it is the ground truth that
// capacity measurements are checked against.
//
// Timers fire late by tens of microseconds. If each request measured its
// service time from the moment it actually received the slot, every late
// wake-up would lengthen the slot's cycle and the capacity would fall short.
// Instead each slot keeps the instant it is committed until (its last
// deadline), and a request's service starts at the later of that instant and
// the moment the request began to wait: a request that was already queued
// when the slot's previous holder was due to finish starts exactly then.
// Deadlines are absolute, so lateness never accumulates and a saturated slot
// completes exactly one request per service time.
type referenceModel struct {
	serviceTime time.Duration
	// slots holds the free slots; a request takes one and puts it back.
	// Goroutines blocked receiving from a channel are served in order.
	slots chan *slot
}

type slot struct {
	// busyUntil is the deadline of the slot's last request.
	busyUntil time.Time
}

func newReferenceModel(cfg ReferenceConfig) *referenceModel {
	m := &referenceModel{serviceTime: cfg.ServiceTime, slots: make(chan *slot, cfg.Slots)}
	for range cfg.Slots {
		m.slots <- &slot{}
	}
	return m
}

func (m *referenceModel) inputSize() int { return 0 }
func (m *referenceModel) cpuBound() bool { return false }

func (m *referenceModel) predict(ctx context.Context, instances [][]float64) ([]Prediction, error) {
	if _, err := m.hold(ctx, time.Now()); err != nil {
		return nil, err
	}
	preds := make([]Prediction, len(instances))
	for i, x := range instances {
		preds[i] = Prediction{Label: argmax(x)}
	}
	return preds, nil
}

// hold waits for a slot, for a request that arrived at arrival, and holds it
// for the service time. It returns the instant the service started. If ctx
// ends while the request holds its slot, the slot stays committed until the
// request's deadline, as a real server would keep working on an abandoned
// request.
func (m *referenceModel) hold(ctx context.Context, arrival time.Time) (time.Time, error) {
	var s *slot
	select {
	case s = <-m.slots:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	start := arrival
	if s.busyUntil.After(start) {
		start = s.busyUntil
	}
	s.busyUntil = start.Add(m.serviceTime)
	err := sleepUntil(ctx, s.busyUntil)
	m.slots <- s
	return start, err
}

// argmax returns the index of the largest value, a stand-in label.
func argmax(x []float64) int {
	k := 0
	for i, v := range x {
		if v > x[k] {
			k = i
		}
	}
	return k
}
