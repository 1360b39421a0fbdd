package hosting

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestScaleFollowsDesiredCount(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 2, Weight: 1}})
	v := ep.Variant("main")
	if s := ep.Describe().Status; s != StatusCreating {
		t.Errorf("status at start %s, want Creating", s)
	}
	waitInService(t, ep, v, tg, 2)
	for _, n := range []int{3, 1} {
		if err := ep.SetWeightsAndCapacities([]VariantUpdate{{VariantName: "main", DesiredInstanceCount: &n}}); err != nil {
			t.Fatal(err)
		}
		// Scaling out waits for process starts, so the change shows; scaling
		// in takes instances out of service at once.
		if s := ep.Describe().Status; n == 3 && s != StatusUpdating {
			t.Errorf("status right after update to %d: %s, want Updating", n, s)
		}
		waitInService(t, ep, v, tg, n)
		if d := v.Describe(); d.DesiredInstanceCount != n {
			t.Errorf("desired %d, want %d", d.DesiredInstanceCount, n)
		}
	}
}

// TestResumedVariantInService: a variant that was in service before (a
// restarted server relaunches it) is InService while its instances
// launch, with none of them counted until they are.
func TestResumedVariantInService(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg, "TESTMODEL_SETUP_DELAY=300ms"), InstanceCount: 2, Weight: 1, InService: true}})
	v := ep.Variant("main")
	if d := ep.Describe(); d.Status != StatusInService || d.Variants[0].CurrentInstanceCount != 0 || d.Variants[0].DesiredInstanceCount != 2 {
		t.Errorf("at start: %+v, want InService with 0 of 2 instances", d)
	}
	waitInService(t, ep, v, tg, 2)
}

func TestKilledInstanceReplaced(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	// A slow setup leaves a window in which only one instance is in service.
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg, "TESTMODEL_SETUP_DELAY=800ms"), InstanceCount: 2, Weight: 1}})
	v := ep.Variant("main")
	waitInService(t, ep, v, tg, 2)
	victim := inServicePIDs(v)[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 700*time.Millisecond, "one instance in service after the kill", func() bool {
		d := v.Describe()
		return d.CurrentInstanceCount == 1 && !slices.Contains(inServicePIDs(v), victim)
	})
	if d := ep.Describe(); d.Status != StatusInService || d.Variants[0].DesiredInstanceCount != 2 {
		t.Errorf("while replacing: %+v", d)
	}
	waitInService(t, ep, v, tg, 2)
	if slices.Contains(procs(tg), victim) {
		t.Errorf("killed process %d still listed", victim)
	}
}

func TestHungInstanceReplaced(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 2, Weight: 1}})
	v := ep.Variant("main")
	waitInService(t, ep, v, tg, 2)
	g := NewGateway(GatewayConfig{})
	defer g.Close()
	resp, err := g.Invoke(context.Background(), ep, &InvokeRequest{Body: []byte("x"), CustomAttributes: "hang"})
	if err != nil {
		t.Fatal(err)
	}
	hung := pidOf(t, resp)
	if !running(hung) {
		t.Fatalf("hung process %d not running", hung)
	}
	waitFor(t, 10*time.Second, "the hung process to be stopped", func() bool { return !running(hung) })
	waitInService(t, ep, v, tg, 2)
}

func TestInvokeWhileInstanceKilled(t *testing.T) {
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 3, Weight: 1}})
	v := ep.Variant("main")
	waitInService(t, ep, v, tg, 3)
	g := NewGateway(GatewayConfig{ModelTimeout: 5 * time.Second})
	defer g.Close()

	const clients, maxPerClient = 4, 20000
	var total, failed atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			req := &InvokeRequest{Body: []byte(`{"x":[1,2,3]}`), ContentType: "application/json"}
			for range maxPerClient {
				if ctx.Err() != nil {
					return
				}
				_, err := g.Invoke(ctx, ep, req)
				if ctx.Err() != nil {
					return // cut off by the end of the run, not a failure
				}
				total.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	time.Sleep(time.Second)
	victim := inServicePIDs(v)[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	n, f := total.Load(), failed.Load()
	t.Logf("%d requests, %d failed (first: %v)", n, f, firstErr.Load())
	if n < 200 {
		t.Fatalf("only %d requests in 3 s", n)
	}
	if float64(f) >= 0.01*float64(n) {
		t.Errorf("%d of %d requests failed (first: %v), want under 1%%", f, n, firstErr.Load())
	}
	waitInService(t, ep, v, tg, 3)
}

func TestRouting(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{
		{Name: "a", Spec: modelSpec(tg), InstanceCount: 1, Weight: 3},
		{Name: "b", Spec: modelSpec(tg), InstanceCount: 1, Weight: 1},
	})
	waitFor(t, 15*time.Second, "both variants in service", func() bool { return ep.Describe().Status == StatusInService })
	rec := &recorder{}
	g := NewGateway(GatewayConfig{Recorder: rec})
	defer g.Close()
	ctx := context.Background()
	count := func(n int, target string) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			resp, err := g.Invoke(ctx, ep, &InvokeRequest{Body: []byte("hi"), ContentType: "text/csv", Accept: "application/x-test", TargetVariant: target})
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Body) != "hi" || resp.ContentType != "application/x-test" || !strings.HasSuffix(resp.CustomAttributes, ",ct=text/csv") {
				t.Fatalf("response %+v", resp)
			}
			if inv := rec.last(); inv.Variant != resp.InvokedProductionVariant || inv.Class != Status2XX || inv.Instance == "" || inv.ModelLatencyMicros <= 0 {
				t.Fatalf("recorded %+v for variant %s", inv, resp.InvokedProductionVariant)
			}
			got[resp.InvokedProductionVariant]++
		}
		return got
	}
	// 3:1 over 800 requests: the share of a is 0.75 with a standard
	// deviation of 0.015; allow 5 of them.
	got := count(800, "")
	if share := float64(got["a"]) / 800; math.Abs(share-0.75) > 0.075 {
		t.Errorf("share of a %.3f (%v), want 0.75", share, got)
	}
	if got := count(30, "b"); got["b"] != 30 {
		t.Errorf("TargetVariant b: %v", got)
	}
	zero := 0.0
	if err := ep.SetWeightsAndCapacities([]VariantUpdate{{VariantName: "a", DesiredWeight: &zero}}); err != nil {
		t.Fatal(err)
	}
	if got := count(30, ""); got["b"] != 30 {
		t.Errorf("after weight of a set to 0: %v", got)
	}
	_, err := g.Invoke(ctx, ep, &InvokeRequest{Body: []byte("hi"), TargetVariant: "nope"})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("unknown TargetVariant: %v, want ValidationError", err)
	}
	if inv := rec.last(); inv.Class != Status4XX {
		t.Errorf("recorded %+v, want 4XX", inv)
	}
}

func TestLeastOutstandingPrefersIdle(t *testing.T) {
	t.Parallel()
	for _, routing := range []RoutingStrategy{LeastOutstandingRequests, RandomRouting} {
		t.Run(string(routing), func(t *testing.T) {
			tg := tag(t)
			ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 2, Weight: 1, Routing: routing}})
			v := ep.Variant("main")
			waitInService(t, ep, v, tg, 2)
			g := NewGateway(GatewayConfig{})
			defer g.Close()
			ctx := context.Background()
			slow := make(chan int, 1)
			go func() {
				resp, err := g.Invoke(ctx, ep, &InvokeRequest{Body: []byte("slow"), CustomAttributes: "delay=1500ms"})
				if err != nil {
					t.Error(err)
					slow <- 0
					return
				}
				slow <- pidOf(t, resp)
			}()
			waitFor(t, 5*time.Second, "the slow request in flight", func() bool {
				for _, r := range *v.ready.Load() {
					if r.outstanding.Load() == 1 {
						return true
					}
				}
				return false
			})
			pids := map[int]int{}
			for range 30 {
				resp, err := g.Invoke(ctx, ep, &InvokeRequest{Body: []byte("fast")})
				if err != nil {
					t.Fatal(err)
				}
				pids[pidOf(t, resp)]++
			}
			busy := <-slow
			if routing == LeastOutstandingRequests && (len(pids) != 1 || pids[busy] != 0) {
				t.Errorf("fast requests went to %v; the busy instance is %d", pids, busy)
			}
			if routing == RandomRouting && len(pids) != 2 {
				t.Errorf("random routing used only %v", pids)
			}
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 1, Weight: 1}})
	empty := startEndpoint(t, []VariantConfig{{Name: "none", Spec: modelSpec(tg + "_none"), InstanceCount: 0, Weight: 1}})
	waitInService(t, ep, ep.Variant("main"), tg, 1)
	rec := &recorder{}
	g := NewGateway(GatewayConfig{ModelTimeout: 300 * time.Millisecond, Recorder: rec})
	defer g.Close()
	ctx := context.Background()

	big := bytes.Repeat([]byte("z"), MaxPayloadBytes)
	tests := []struct {
		name   string
		ep     *Endpoint
		req    InvokeRequest
		check  func(error) bool
		class  StatusClass
		echoed bool
	}{
		{"model status and body", ep, InvokeRequest{Body: []byte("teapot"), CustomAttributes: "status=418"}, func(err error) bool {
			var me *ModelError
			return errors.As(err, &me) && me.OriginalStatusCode == 418 && me.OriginalMessage == "teapot" && me.Variant == "main"
		}, StatusModelError, false},
		{"model timeout", ep, InvokeRequest{Body: []byte("x"), CustomAttributes: "delay=2s"}, func(err error) bool {
			var me *ModelError
			return errors.As(err, &me) && me.OriginalStatusCode == 0 && strings.Contains(me.OriginalMessage, "timed out")
		}, StatusModelError, false},
		{"payload too large", ep, InvokeRequest{Body: append(big, 'z')}, func(err error) bool {
			var ve *ValidationError
			return errors.As(err, &ve) && strings.Contains(ve.Message, "exceeds")
		}, Status4XX, false},
		{"payload at the limit", ep, InvokeRequest{Body: big}, func(err error) bool { return err == nil }, Status2XX, true},
		{"no instance", empty, InvokeRequest{Body: []byte("x")}, func(err error) bool {
			var su *ServiceUnavailableError
			return errors.As(err, &su)
		}, Status5XX, false},
		{"no instance in target", empty, InvokeRequest{Body: []byte("x"), TargetVariant: "none"}, func(err error) bool {
			var su *ServiceUnavailableError
			return errors.As(err, &su)
		}, Status5XX, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := g.Invoke(ctx, tt.ep, &tt.req)
			if !tt.check(err) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if tt.echoed && !bytes.Equal(resp.Body, tt.req.Body) {
				t.Errorf("body of %d bytes not echoed (%d bytes)", len(tt.req.Body), len(resp.Body))
			}
			var me *ModelError
			if inv := rec.last(); inv.Class != tt.class || inv.Endpoint != tt.ep.Name() {
				t.Errorf("recorded %+v, want class %s", inv, tt.class)
			} else if errors.As(err, &me) && inv.ModelStatus != me.OriginalStatusCode {
				t.Errorf("recorded model status %d, want %d", inv.ModelStatus, me.OriginalStatusCode)
			}
		})
	}
	// The timed-out instance is still healthy and serves again.
	if _, err := g.Invoke(ctx, ep, &InvokeRequest{Body: []byte("x")}); err != nil {
		t.Errorf("after errors: %v", err)
	}
}

func TestLaunchFailureMarksFailed(t *testing.T) {
	t.Parallel()
	tg := tag(t)
	ep := startEndpoint(t, []VariantConfig{{Name: "broken", Spec: modelSpec(tg, "TESTMODEL_EXIT=4"), InstanceCount: 1, Weight: 1}})
	waitFor(t, 10*time.Second, "Failed", func() bool { return ep.Describe().Status == StatusFailed })
	d := ep.Describe()
	if !strings.Contains(d.FailureReason, "model artefact missing") || !strings.Contains(d.FailureReason, "variant broken") {
		t.Errorf("failure reason %q", d.FailureReason)
	}
	if c := d.Variants[0].CurrentInstanceCount; c != 0 {
		t.Errorf("current count %d", c)
	}
}
