package hosting

import (
	"cmp"
	"slices"
	"time"
)

// ReplicaView is what the reconcile decision needs to know about one
// instance of a variant.
type ReplicaView struct {
	// Seq orders instances by launch: a higher Seq is newer.
	Seq int64
	// Healthy is false once the instance has ended or failed its health
	// checks too many times in a row.
	Healthy bool
}

// Plan is what a variant should do next.
type Plan struct {
	// Launch is the number of instances to start now.
	Launch int
	// Stop lists the Seq of instances to stop now.
	Stop []int64
}

// Decide is the reconcile decision of a variant: given the desired instance
// count, the launches still in progress, the instances and whether launching
// is allowed now (failed launches back off until retryAt), it returns what
// to start and stop. Unhealthy instances are always stopped (and so
// replaced); healthy extras are stopped newest first, so that the instances
// that have proven themselves longest stay. Launches in flight count towards
// the desired count; an instance that turns out to be extra when its launch
// completes is stopped then, as the newest.
func Decide(desired, launching int, replicas []ReplicaView, now, retryAt time.Time) Plan {
	var p Plan
	healthy := make([]ReplicaView, 0, len(replicas))
	for _, r := range replicas {
		if r.Healthy {
			healthy = append(healthy, r)
		} else {
			p.Stop = append(p.Stop, r.Seq)
		}
	}
	if extra := len(healthy) - desired; extra > 0 {
		slices.SortFunc(healthy, func(a, b ReplicaView) int { return cmp.Compare(b.Seq, a.Seq) })
		for _, r := range healthy[:extra] {
			p.Stop = append(p.Stop, r.Seq)
		}
	}
	if need := desired - len(healthy) - launching; need > 0 && !now.Before(retryAt) {
		p.Launch = need
	}
	return p
}

// LaunchBackoff is the pause after the given number of consecutive failed
// launches (at least 1): initial, doubling each time, at most max.
func LaunchBackoff(failures int, initial, max time.Duration) time.Duration {
	d := initial
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Status is the state of a variant or an endpoint.
type Status string

// Statuses, named as SageMaker's EndpointStatus values.
const (
	StatusCreating  Status = "Creating"
	StatusInService Status = "InService"
	StatusUpdating  Status = "Updating"
	StatusFailed    Status = "Failed"
	StatusDeleting  Status = "Deleting"
)

// variantStatus derives a variant's status. converged says whether the
// variant ever had as many instances in service as desired; pending whether
// the desired count changed since it last did. A variant whose launches
// failed failAfter times in a row while it lacks instances is Failed (it
// keeps retrying, with backoff, and recovers if a launch succeeds).
func variantStatus(converged, pending bool, failures, failAfter, current, desired int) Status {
	switch {
	case failures >= failAfter && current < desired:
		return StatusFailed
	case !converged:
		return StatusCreating
	case pending:
		return StatusUpdating
	default:
		return StatusInService
	}
}

// endpointStatus derives an endpoint's status from its variants'.
func endpointStatus(deleting bool, variants []Status) Status {
	if deleting {
		return StatusDeleting
	}
	for _, want := range []Status{StatusFailed, StatusCreating, StatusUpdating} {
		if slices.Contains(variants, want) {
			return want
		}
	}
	return StatusInService
}
