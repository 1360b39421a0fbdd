package loadgen

import (
	"testing"
	"time"
)

func TestSchedules(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		sched    Schedule
		duration time.Duration
		at       map[time.Duration]int
	}{
		{
			name:     "one phase, 60 users/min from 2",
			sched:    Phases(Phase{InitialUsers: 2, SpawnRatePerMinute: 60, Duration: 10 * s}),
			duration: 10 * s,
			at: map[time.Duration]int{
				0: 2, 999 * time.Millisecond: 2, 1 * s: 3, 1500 * time.Millisecond: 3, 9 * s: 11,
				10 * s: 12, 20 * s: 12, -s: 2, // holds the final count; negative is the start
			},
		},
		{
			name: "two phases restart at their own initial users",
			sched: Phases(
				Phase{InitialUsers: 1, SpawnRatePerMinute: 120, Duration: 30 * s},
				Phase{InitialUsers: 5, SpawnRatePerMinute: 0, Duration: 30 * s},
			),
			duration: 60 * s,
			at: map[time.Duration]int{
				0: 1, 500 * time.Millisecond: 2, 29 * s: 59, 29999 * time.Millisecond: 60,
				30 * s: 5, 59 * s: 5, 90 * s: 5,
			},
		},
		{
			name:     "slow spawn rate: one user every 2 minutes",
			sched:    Phases(Phase{InitialUsers: 1, SpawnRatePerMinute: 1, Duration: 5 * time.Minute}),
			duration: 5 * time.Minute,
			at:       map[time.Duration]int{59 * s: 1, time.Minute: 2, 2 * time.Minute: 3, 5 * time.Minute: 6},
		},
		{
			name:     "no phases",
			sched:    Phases(),
			duration: 0,
			at:       map[time.Duration]int{0: 0, s: 0},
		},
		{
			name:     "stairs: 3 steps of 20s, 4 users each",
			sched:    Stairs(20*s, 3, 4),
			duration: 60 * s,
			at: map[time.Duration]int{
				0: 4, 19999 * time.Millisecond: 4, 20 * s: 8, 39 * s: 8, 40 * s: 12, 59 * s: 12, 60 * s: 12, 120 * s: 12,
			},
		},
		{
			name:     "stairs: no steps",
			sched:    Stairs(10*s, 0, 5),
			duration: 0,
			at:       map[time.Duration]int{0: 0, 5 * s: 0},
		},
		{
			name:     "constant",
			sched:    ConstantUsers(7, 0),
			duration: 0,
			at:       map[time.Duration]int{0: 7, time.Hour: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sched.Duration(); got != tt.duration {
				t.Errorf("Duration() = %v, want %v", got, tt.duration)
			}
			for at, want := range tt.at {
				if got := tt.sched.Users(at); got != want {
					t.Errorf("Users(%v) = %d, want %d", at, got, want)
				}
			}
		})
	}
}

func TestPhasesCopiesItsInput(t *testing.T) {
	ps := []Phase{{InitialUsers: 3, Duration: time.Second}}
	s := Phases(ps...)
	ps[0].InitialUsers = 100
	if got := s.Users(0); got != 3 {
		t.Fatalf("Users(0) = %d after the caller changed its slice, want 3", got)
	}
}
