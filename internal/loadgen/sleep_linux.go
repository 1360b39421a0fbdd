package loadgen

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper sleeps precisely. The Go runtime's timers wake an otherwise idle
// program only on whole milliseconds (epoll_wait's resolution), which
// would add up to 1ms of the load generator's own lag to open-loop
// latencies measured from the intended send time. A blocking nanosleep
// would hold the goroutine's P and starve the workers when GOMAXPROCS is
// small. A timerfd registered with the runtime's poller has neither
// problem: epoll_wait returns when it fires, to the microsecond.
type sleeper struct {
	f   *os.File // nil: fall back to time.Sleep
	fd  int
	buf [8]byte
}

func newSleeper() *sleeper {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &sleeper{}
	}
	// A non-blocking descriptor: os.NewFile registers it with the poller.
	return &sleeper{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}
}

// sleep sleeps for d.
func (s *sleeper) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	if s.f != nil {
		spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
		if unix.TimerfdSettime(s.fd, 0, &spec, nil) == nil {
			if _, err := s.f.Read(s.buf[:]); err == nil {
				return
			}
		}
	}
	time.Sleep(d)
}

func (s *sleeper) close() {
	if s.f != nil {
		s.f.Close()
	}
}
