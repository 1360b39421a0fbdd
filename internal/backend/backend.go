// Package backend defines what every backend offers: launching an instance
// of a model server for an instance type, measuring it, and stopping it. An
// instance is one replica of a server that honours the SageMaker container
// contract (GET /ping, POST /invocations, port from the environment).
//
// Implementations live in sub-packages: local runs processes on this host;
// a Kubernetes backend runs pods. Both return the same Instance shape.
package backend

import (
	"context"
	"errors"
	"io"
	"time"
)

// Defaults applied to a zero Spec field.
const (
	DefaultSetupTimeout = 10 * time.Minute
	DefaultStopGrace    = 5 * time.Second
)

// Errors that callers may test for with errors.Is.
var (
	// ErrSetupTimeout: the server did not answer GET /ping with 200 within
	// Spec.SetupTimeout.
	ErrSetupTimeout = errors.New("setup timeout")
	// ErrExited: the server process ended on its own (during setup or later).
	ErrExited = errors.New("server exited")
	// ErrStopped: the instance ended because Stop was called.
	ErrStopped = errors.New("instance stopped")
	// ErrUsageUnavailable: the backend cannot measure CPU and memory of this
	// instance (for example an already-running server on another host).
	ErrUsageUnavailable = errors.New("usage unavailable")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("backend closed")
)

// Spec describes one instance to launch.
type Spec struct {
	// Name identifies the instance in logs and errors.
	Name string
	// Command is the server executable. Args default to []string{"serve"},
	// the SageMaker way.
	Command string
	Args    []string
	// Env holds KEY=VALUE pairs for the server, added to a minimal inherited
	// environment (PATH, HOME). The backend adds SAGEMAKER_BIND_TO_PORT.
	Env []string
	// URL names an already-running server (base URL, without /ping). Then
	// Command must be empty and nothing is started or stopped.
	URL string
	// CPUs is the number of vCPUs of the instance type; 0 means no pinning.
	CPUs int
	// MemoryBytes is the memory of the instance type, the denominator of
	// MemoryUtilization.
	MemoryBytes int64
	// SetupTimeout bounds the time from start to the first 200 on GET /ping
	// (DefaultSetupTimeout when zero).
	SetupTimeout time.Duration
	// StopGrace is the time between SIGTERM and SIGKILL on Stop
	// (DefaultStopGrace when zero).
	StopGrace time.Duration
	// Output, if set, receives the server's stdout and stderr as they come.
	// It is written from one goroutine at a time. The backend keeps the last
	// few KB anyway, to quote them in errors.
	Output io.Writer
}

// Instance is one running replica of a model server.
type Instance interface {
	// URL is the base URL; invocations go to URL()+"/invocations".
	URL() string
	// SetupTime is the time from process start to the first 200 on GET /ping;
	// 0 for an already-running server that answered the first ping, whose
	// setup was not seen.
	SetupTime() time.Duration
	// Warnings says what makes measurements of this instance less faithful
	// (shared CPUs, unmeasurable usage, ...).
	Warnings() []string
	// Usage returns the cumulative CPU time and current memory of the
	// instance's whole process tree. It wraps ErrUsageUnavailable when the
	// backend cannot measure them.
	Usage(ctx context.Context) (Usage, error)
	// Stop ends the instance: SIGTERM, a grace period, then SIGKILL. It is
	// idempotent and safe to call concurrently.
	Stop(ctx context.Context) error
	// Done is closed when the instance has ended, by Stop or on its own.
	Done() <-chan struct{}
	// Err is nil until Done is closed; then it tells why the instance ended:
	// it wraps ErrStopped after Stop, ErrExited otherwise (a crash).
	Err() error
}

// Launcher is a backend: it launches instances and stops them all on Close.
type Launcher interface {
	// Launch starts an instance and blocks until it answers GET /ping with
	// 200. On failure nothing is left running.
	Launch(ctx context.Context, s Spec) (Instance, error)
	// Close stops every instance still running.
	Close(ctx context.Context) error
}

// Usage is one sample of an instance's resource use.
type Usage struct {
	// At is when the sample was taken.
	At time.Time
	// CPU is the cumulative CPU time (user + system) of the process tree,
	// including children that have exited and been waited for.
	CPU time.Duration
	// MemoryBytes is the resident memory of the process tree at At, with
	// pages shared inside the tree counted once where the OS can tell.
	MemoryBytes int64
}

// Utilization turns two samples into CloudWatch's CPUUtilization and
// MemoryUtilization: cpuPercent is the CPU time used between the samples over
// the wall time between them, summed over cores (0 to CPUs×100), and
// memoryPercent is to's memory over the instance type's memory. A percentage
// that cannot be computed (no time elapsed, unknown memory) is 0.
func Utilization(from, to Usage, memoryBytes int64) (cpuPercent, memoryPercent float64) {
	if wall := to.At.Sub(from.At); wall > 0 && to.CPU >= from.CPU {
		cpuPercent = float64(to.CPU-from.CPU) / float64(wall) * 100
	}
	if memoryBytes > 0 {
		memoryPercent = float64(to.MemoryBytes) / float64(memoryBytes) * 100
	}
	return cpuPercent, memoryPercent
}
