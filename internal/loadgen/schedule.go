package loadgen

import "time"

// Schedule is a closed-loop user schedule: how many users are active at a
// given time since the start of a run, and how long it naturally lasts.
// Users must be a pure function of elapsed. Past Duration, the schedules in
// this package hold their last value.
type Schedule interface {
	Users(elapsed time.Duration) int
	Duration() time.Duration
}

// Phase is one phase of a SageMaker PHASES traffic pattern: it starts with
// InitialUsers and adds SpawnRatePerMinute users per minute, spread evenly,
// until it ends after Duration.
type Phase struct {
	InitialUsers       int
	SpawnRatePerMinute int
	Duration           time.Duration
}

// Phases returns the schedule of phases run one after another, as
// SageMaker Inference Recommender's Phases traffic pattern. Each phase
// starts again at its own InitialUsers.
func Phases(ps ...Phase) Schedule { return phases(append([]Phase(nil), ps...)) }

type phases []Phase

func (p phases) Duration() time.Duration {
	var d time.Duration
	for _, ph := range p {
		d += ph.Duration
	}
	return d
}

func (p phases) Users(elapsed time.Duration) int {
	if len(p) == 0 {
		return 0
	}
	if elapsed < 0 {
		elapsed = 0
	}
	for i, ph := range p {
		if elapsed < ph.Duration || i == len(p)-1 {
			if elapsed > ph.Duration {
				elapsed = ph.Duration // hold the last phase's final count
			}
			return ph.InitialUsers + spawned(ph.SpawnRatePerMinute, elapsed)
		}
		elapsed -= ph.Duration
	}
	return 0 // not reached
}

// spawned is how many users a spawn rate of perMinute has added after
// elapsed: one every minute/perMinute, the first of them after that gap.
func spawned(perMinute int, elapsed time.Duration) int {
	if perMinute <= 0 || elapsed <= 0 {
		return 0
	}
	// Integer arithmetic: elapsed*perMinute/minute, without overflow for
	// any realistic run (perMinute < 2^31, elapsed < days).
	return int(int64(elapsed) / int64(time.Millisecond) * int64(perMinute) / int64(time.Minute/time.Millisecond))
}

// Stairs returns SageMaker's STAIRS traffic pattern: steps steps of step
// each (Stairs.DurationInSeconds is "how long each traffic step should
// be"), step i (1-based) running i*usersPerStep users.
func Stairs(step time.Duration, steps, usersPerStep int) Schedule {
	return stairs{step: step, steps: steps, per: usersPerStep}
}

type stairs struct {
	step       time.Duration
	steps, per int
}

func (s stairs) Duration() time.Duration { return s.step * time.Duration(max(s.steps, 0)) }

func (s stairs) Users(elapsed time.Duration) int {
	if s.steps <= 0 || s.step <= 0 {
		return 0
	}
	i := int(max(elapsed, 0)/s.step) + 1
	return min(i, s.steps) * s.per
}

// ConstantUsers returns a schedule of n users throughout; d is its natural
// length (0 means none: the run then needs Options.Duration or
// Options.MaxRequests).
func ConstantUsers(n int, d time.Duration) Schedule { return constant{n: n, d: d} }

type constant struct {
	n int
	d time.Duration
}

func (c constant) Users(time.Duration) int { return c.n }
func (c constant) Duration() time.Duration { return c.d }
