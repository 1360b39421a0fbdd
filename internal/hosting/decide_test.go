package hosting

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h := func(seq int64) ReplicaView { return ReplicaView{Seq: seq, Healthy: true} }
	u := func(seq int64) ReplicaView { return ReplicaView{Seq: seq} }
	tests := []struct {
		name      string
		desired   int
		launching int
		replicas  []ReplicaView
		retryAt   time.Time
		want      Plan
	}{
		{"empty to two", 2, 0, nil, time.Time{}, Plan{Launch: 2}},
		{"launches in flight count", 3, 2, []ReplicaView{h(1)}, time.Time{}, Plan{}},
		{"one more", 3, 0, []ReplicaView{h(1), h(2)}, time.Time{}, Plan{Launch: 1}},
		{"steady", 2, 0, []ReplicaView{h(1), h(2)}, time.Time{}, Plan{}},
		{"scale in stops newest", 1, 0, []ReplicaView{h(5), h(9), h(7)}, time.Time{}, Plan{Stop: []int64{9, 7}}},
		{"unhealthy replaced", 2, 0, []ReplicaView{h(1), u(2)}, time.Time{}, Plan{Launch: 1, Stop: []int64{2}}},
		{"unhealthy first on scale in", 1, 0, []ReplicaView{h(1), u(2), h(3)}, time.Time{}, Plan{Stop: []int64{2, 3}}},
		{"backoff holds launches", 2, 0, []ReplicaView{u(1)}, t0.Add(time.Second), Plan{Stop: []int64{1}}},
		{"backoff over", 2, 0, nil, t0, Plan{Launch: 2}},
		{"to zero", 0, 0, []ReplicaView{h(1), h(2)}, time.Time{}, Plan{Stop: []int64{2, 1}}},
		{"extra launch completes", 1, 1, []ReplicaView{h(1), h(2)}, time.Time{}, Plan{Stop: []int64{2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.desired, tt.launching, tt.replicas, t0, tt.retryAt)
			if got.Launch != tt.want.Launch || !slices.Equal(got.Stop, tt.want.Stop) {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLaunchBackoff(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 30 * time.Second}, {100, 30 * time.Second}} {
		if got := LaunchBackoff(tt.failures, time.Second, 30*time.Second); got != tt.want {
			t.Errorf("LaunchBackoff(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestVariantStatus(t *testing.T) {
	for _, tt := range []struct {
		name                       string
		converged, pending         bool
		failures, current, desired int
		want                       Status
	}{
		{"creating", false, false, 0, 0, 2, StatusCreating},
		{"creating with a failure", false, false, 2, 0, 2, StatusCreating},
		{"failed", false, false, 3, 1, 2, StatusFailed},
		{"in service", true, false, 0, 2, 2, StatusInService},
		{"replacing a crash stays in service", true, false, 0, 1, 2, StatusInService},
		{"updating", true, true, 0, 2, 3, StatusUpdating},
		{"failed after update", true, true, 5, 2, 3, StatusFailed},
		{"failures but enough instances", true, false, 5, 2, 2, StatusInService},
	} {
		if got := variantStatus(tt.converged, tt.pending, tt.failures, 3, tt.current, tt.desired); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestEndpointStatus(t *testing.T) {
	for _, tt := range []struct {
		deleting bool
		variants []Status
		want     Status
	}{
		{false, []Status{StatusInService, StatusInService}, StatusInService},
		{false, []Status{StatusInService, StatusCreating}, StatusCreating},
		{false, []Status{StatusUpdating, StatusCreating}, StatusCreating},
		{false, []Status{StatusUpdating, StatusFailed}, StatusFailed},
		{false, []Status{StatusInService, StatusUpdating}, StatusUpdating},
		{true, []Status{StatusInService}, StatusDeleting},
	} {
		if got := endpointStatus(tt.deleting, tt.variants); got != tt.want {
			t.Errorf("endpointStatus(%v, %v) = %s, want %s", tt.deleting, tt.variants, got, tt.want)
		}
	}
}

// readyVariant returns a variant whose instances in service have the given
// numbers of requests in flight; the last one has ended.
func readyVariant(t *testing.T, routing RoutingStrategy, outstanding []int64, endedLast bool) (*Variant, []*replica) {
	t.Helper()
	v, err := NewVariant("ep", VariantConfig{Name: "v", Routing: routing}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rs []*replica
	for i, o := range outstanding {
		done := make(chan struct{})
		if endedLast && i == len(outstanding)-1 {
			close(done)
		}
		r := &replica{seq: int64(i), done: done}
		r.outstanding.Store(o)
		rs = append(rs, r)
	}
	v.ready.Store(&rs)
	return v, rs
}

func TestPick(t *testing.T) {
	tests := []struct {
		name        string
		routing     RoutingStrategy
		outstanding []int64
		endedLast   bool
		skip        []int
		want        []int // acceptable picks; nil means none
	}{
		{"least outstanding", LeastOutstandingRequests, []int64{3, 0, 2}, false, nil, []int{1}},
		{"skips tried", LeastOutstandingRequests, []int64{3, 0, 2}, false, []int{1}, []int{2}},
		{"skips ended", LeastOutstandingRequests, []int64{3, 2, 0}, true, nil, []int{1}},
		{"ties spread", LeastOutstandingRequests, []int64{1, 1, 1}, false, nil, []int{0, 1, 2}},
		{"random", RandomRouting, []int64{5, 0, 9}, false, nil, []int{0, 1, 2}},
		{"none left", RandomRouting, []int64{0, 0}, true, []int{0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, rs := readyVariant(t, tt.routing, tt.outstanding, tt.endedLast)
			var skip []*replica
			for _, i := range tt.skip {
				skip = append(skip, rs[i])
			}
			seen := map[int]int{}
			for range 300 {
				r := v.pick(skip)
				if r == nil {
					seen[-1]++
					continue
				}
				seen[int(r.seq)]++
			}
			if tt.want == nil {
				if seen[-1] != 300 {
					t.Fatalf("picked %v, want none", seen)
				}
				return
			}
			for i, n := range seen {
				if !slices.Contains(tt.want, i) {
					t.Errorf("picked %d (%d times), want one of %v", i, n, tt.want)
				}
			}
			for _, i := range tt.want {
				if seen[i] == 0 {
					t.Errorf("never picked %d; picks %v", i, seen)
				}
			}
		})
	}
}

func TestSetWeightsAndCapacitiesValidation(t *testing.T) {
	ep, err := NewEndpoint("ep", nil, []VariantConfig{{Name: "a", InstanceCount: 1, Weight: 1}, {Name: "b", InstanceCount: 1, Weight: 1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := func(x float64) *float64 { return &x }
	n := func(x int) *int { return &x }
	tests := []struct {
		name    string
		updates []VariantUpdate
		ok      bool
	}{
		{"none", nil, false},
		{"unknown variant", []VariantUpdate{{VariantName: "a", DesiredWeight: f(2)}, {VariantName: "zz", DesiredWeight: f(1)}}, false},
		{"twice", []VariantUpdate{{VariantName: "a", DesiredWeight: f(2)}, {VariantName: "a", DesiredInstanceCount: n(1)}}, false},
		{"negative weight", []VariantUpdate{{VariantName: "a", DesiredWeight: f(-1)}}, false},
		{"negative count", []VariantUpdate{{VariantName: "b", DesiredInstanceCount: n(-1)}}, false},
		{"good", []VariantUpdate{{VariantName: "a", DesiredWeight: f(3)}, {VariantName: "b", DesiredInstanceCount: n(4)}}, true},
	}
	for _, tt := range tests {
		err := ep.SetWeightsAndCapacities(tt.updates)
		var ve *ValidationError
		if tt.ok != (err == nil) || (err != nil && !errors.As(err, &ve)) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	// Only the good update took effect.
	d := ep.Describe()
	if d.Variants[0].Weight != 3 || d.Variants[0].DesiredInstanceCount != 1 || d.Variants[1].Weight != 1 || d.Variants[1].DesiredInstanceCount != 4 {
		t.Errorf("after updates: %+v", d.Variants)
	}
	if w := ep.table.Load().weights; !slices.Equal(w, []float64{3, 1}) {
		t.Errorf("routing weights %v, want [3 1]", w)
	}
}
