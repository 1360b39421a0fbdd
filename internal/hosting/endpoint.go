package hosting

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/inferscale/inferscale/internal/backend"
)

// routes is an endpoint's routing table: its variants and their weights,
// replaced as a whole when weights change so that the gateway reads it
// without locks.
type routes struct {
	variants []*Variant
	weights  []float64
}

// Endpoint is a set of production variants behind one name. Run runs their
// reconcile loops; Delete ends them and stops every instance.
type Endpoint struct {
	name     string
	variants []*Variant // fixed at creation
	table    atomic.Pointer[routes]
	opts     Options // with defaults

	mu       sync.Mutex // serialises SetWeightsAndCapacities and Run/Delete
	started  bool
	deleting bool
	stop     chan struct{} // closed by Delete
	stopped  chan struct{} // closed when Run returns
}

// EndpointDescription is a snapshot of an endpoint.
type EndpointDescription struct {
	Name          string
	Status        Status
	FailureReason string
	Variants      []VariantDescription
}

// NewEndpoint returns an endpoint whose variants launch instances on l once
// Run runs. It returns a *ValidationError for a bad configuration.
func NewEndpoint(name string, l backend.Launcher, variants []VariantConfig, opts Options) (*Endpoint, error) {
	if name == "" {
		return nil, &ValidationError{Message: "endpoint name is empty"}
	}
	if len(variants) == 0 {
		return nil, &ValidationError{Message: fmt.Sprintf("endpoint %s: no production variants", name)}
	}
	e := &Endpoint{name: name, opts: opts.withDefaults(), stop: make(chan struct{}), stopped: make(chan struct{})}
	t := &routes{}
	seen := map[string]bool{}
	for _, c := range variants {
		if seen[c.Name] {
			return nil, &ValidationError{Message: fmt.Sprintf("endpoint %s: variant name %s used twice", name, c.Name)}
		}
		seen[c.Name] = true
		v, err := NewVariant(name, c, l, opts)
		if err != nil {
			return nil, err
		}
		e.variants = append(e.variants, v)
		t.variants = append(t.variants, v)
		t.weights = append(t.weights, c.Weight)
	}
	e.table.Store(t)
	return e, nil
}

// Name returns the endpoint name.
func (e *Endpoint) Name() string { return e.name }

// Variant returns the named variant, or nil.
func (e *Endpoint) Variant(name string) *Variant {
	for _, v := range e.variants {
		if v.name == name {
			return v
		}
	}
	return nil
}

// Variants returns the endpoint's variants in configuration order.
func (e *Endpoint) Variants() []*Variant { return append([]*Variant(nil), e.variants...) }

// Run runs every variant's reconcile loop, and the sampler of instance
// statistics if Options.Stats is set, until ctx ends or Delete is called,
// then stops every instance and returns. It may run only once.
func (e *Endpoint) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.started || e.deleting {
		e.mu.Unlock()
		return fmt.Errorf("endpoint %s: already running or deleted", e.name)
	}
	e.started = true
	e.mu.Unlock()
	defer close(e.stopped)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(e.variants))
	for i, v := range e.variants {
		wg.Go(func() { errs[i] = v.Run(ctx) })
	}
	if rec := e.opts.Stats; rec != nil {
		wg.Go(func() { e.runStats(ctx, rec) })
	}
	select {
	case <-ctx.Done():
	case <-e.stop:
		cancel()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Delete ends Run, which stops every instance, and waits for it (or for
// ctx). The endpoint is Deleting from then on and cannot run again.
func (e *Endpoint) Delete(ctx context.Context) error {
	e.mu.Lock()
	started := e.started
	if !e.deleting {
		e.deleting = true
		close(e.stop)
	}
	e.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-e.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("delete endpoint %s: %w", e.name, ctx.Err())
	}
}

// VariantUpdate is one entry of UpdateEndpointWeightsAndCapacities: nil
// fields are left as they are.
type VariantUpdate struct {
	VariantName          string
	DesiredWeight        *float64
	DesiredInstanceCount *int
}

// SetWeightsAndCapacities applies updates to weights and desired instance
// counts, all or none: it returns a *ValidationError, and changes nothing,
// if a variant is unknown or named twice or a value is negative.
func (e *Endpoint) SetWeightsAndCapacities(updates []VariantUpdate) error {
	if len(updates) == 0 {
		return &ValidationError{Message: "no variant to update"}
	}
	seen := map[string]bool{}
	for _, u := range updates {
		switch {
		case e.Variant(u.VariantName) == nil:
			return &ValidationError{Message: fmt.Sprintf("endpoint %s has no variant %s", e.name, u.VariantName)}
		case seen[u.VariantName]:
			return &ValidationError{Message: fmt.Sprintf("variant %s named twice", u.VariantName)}
		case u.DesiredWeight != nil && *u.DesiredWeight < 0:
			return &ValidationError{Message: fmt.Sprintf("variant %s: negative weight %v", u.VariantName, *u.DesiredWeight)}
		case u.DesiredInstanceCount != nil && *u.DesiredInstanceCount < 0:
			return &ValidationError{Message: fmt.Sprintf("variant %s: negative instance count %d", u.VariantName, *u.DesiredInstanceCount)}
		}
		seen[u.VariantName] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.table.Load()
	t := &routes{variants: old.variants, weights: append([]float64(nil), old.weights...)}
	for _, u := range updates {
		for i, v := range t.variants {
			if v.name != u.VariantName {
				continue
			}
			if u.DesiredWeight != nil {
				t.weights[i] = *u.DesiredWeight
				v.setWeight(*u.DesiredWeight)
			}
			if u.DesiredInstanceCount != nil {
				v.SetDesiredInstanceCount(*u.DesiredInstanceCount) // validated above
			}
		}
	}
	e.table.Store(t)
	return nil
}

// Describe returns the endpoint's status and its variants'. The status is
// Failed if a variant is, Creating until every variant first has its
// desired instances in service, Updating while a change of desired counts is
// in progress, Deleting after Delete.
func (e *Endpoint) Describe() EndpointDescription {
	d := EndpointDescription{Name: e.name}
	statuses := make([]Status, 0, len(e.variants))
	var reasons []string
	for _, v := range e.variants {
		vd := v.Describe()
		d.Variants = append(d.Variants, vd)
		statuses = append(statuses, vd.Status)
		if vd.FailureReason != "" {
			reasons = append(reasons, fmt.Sprintf("variant %s: %s", vd.Name, vd.FailureReason))
		}
	}
	e.mu.Lock()
	deleting := e.deleting
	e.mu.Unlock()
	d.Status = endpointStatus(deleting, statuses)
	if d.Status == StatusFailed {
		d.FailureReason = strings.Join(reasons, "; ")
	}
	return d
}
