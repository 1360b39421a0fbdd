package hosting

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkGatewayOverhead sends the same request to one test model
// instance directly and through the gateway, alternately, and reports the
// p50 of each and the p50 the gateway adds. "direct" uses the gateway's own
// HTTP/1.1 client without the gateway (so that the difference is routing
// and bookkeeping), "nethttp" a keep-alive net/http client, for reference.
func BenchmarkGatewayOverhead(b *testing.B) {
	ep, url := benchEndpoint(b)
	g := NewGateway(GatewayConfig{})
	defer g.Close()
	nethttp := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, DisableCompression: true}}
	up := newUpstream(url)
	defer up.close()
	body := []byte(`{"instances":[[1.0,2.0,3.0,4.0]]}`)
	ctx := context.Background()
	req := &InvokeRequest{Body: body, ContentType: "application/json", Accept: "application/json"}
	upReq := &upRequest{path: "/invocations", body: body, contentType: "application/json", accept: "application/json"}

	callNetHTTP := func() {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/invocations", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json")
		resp, err := nethttp.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	callDirect := func() {
		now := time.Now()
		resp, err := up.do(ctx, upReq, now, now.Add(DefaultModelTimeout), 64)
		if err != nil || resp.status != http.StatusOK {
			b.Fatal(resp.status, err)
		}
	}
	callGateway := func() {
		if _, err := g.Invoke(ctx, ep, req); err != nil {
			b.Fatal(err)
		}
	}
	for range 200 { // warm up the pools
		callNetHTTP()
		callDirect()
		callGateway()
	}
	// The order rotates, so that none always follows the same other.
	calls := [3]func(){callNetHTTP, callDirect, callGateway}
	var took [3][]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for k := range 3 {
			c := (i + k) % 3
			t0 := time.Now()
			calls[c]()
			took[c] = append(took[c], time.Since(t0))
		}
	}
	b.StopTimer()
	pn, pd, pg := p50(took[0]), p50(took[1]), p50(took[2])
	b.ReportMetric(pn, "nethttp-p50-µs")
	b.ReportMetric(pd, "direct-p50-µs")
	b.ReportMetric(pg, "gateway-p50-µs")
	b.ReportMetric(pg-pd, "added-p50-µs")
}

// BenchmarkGatewayInvoke calls Invoke on one test model instance, one
// request at a time, recording each invocation: ns/op is the latency of a
// call, and the allocations are the gateway's (the model runs in its own
// process).
func BenchmarkGatewayInvoke(b *testing.B) {
	ep, _ := benchEndpoint(b)
	g := NewGateway(GatewayConfig{Recorder: &recorder{}})
	defer g.Close()
	ctx := context.Background()
	req := &InvokeRequest{Body: []byte(`{"instances":[[1.0,2.0,3.0,4.0]]}`), ContentType: "application/json", Accept: "application/json"}
	for range 200 {
		if _, err := g.Invoke(ctx, ep, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Invoke(ctx, ep, req); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEndpoint starts an endpoint of one test model instance and returns
// it with the instance's URL.
func benchEndpoint(b *testing.B) (*Endpoint, string) {
	tg := "bench_" + tag(b)
	ep := startEndpoint(b, []VariantConfig{{Name: "main", Spec: modelSpec(tg), InstanceCount: 1, Weight: 1}})
	v := ep.Variant("main")
	deadline := time.Now().Add(15 * time.Second)
	for len(*v.ready.Load()) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("no instance in service")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ep, (*v.ready.Load())[0].url
}

func p50(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)/2]) / float64(time.Microsecond)
}

// BenchmarkMultiModelHit sends the same request to one multi-model test
// model instance through the gateway, alternately as a single-model
// invocation (POST /invocations on a second, single-model variant of the
// same program) and as a multi-model one whose model is loaded (POST
// /models/{name}/invoke), and reports the p50 of each and what the
// multi-model path adds: choosing the instance that has the model and
// holding the model under the variant's lock.
func BenchmarkMultiModelHit(b *testing.B) {
	tg := "bench_" + tag(b)
	src := &dirSource{root: b.TempDir(), fetches: map[string]int{}}
	ep := startEndpoint(b, []VariantConfig{
		{Name: "single", Spec: modelSpec(tg), InstanceCount: 1, Weight: 1},
		{Name: "multi", Spec: modelSpec(tg, "TESTMODEL_MULTI_MODEL=1"), InstanceCount: 1, Weight: 1, MultiModel: &MultiModelConfig{Models: src}},
	})
	deadline := time.Now().Add(15 * time.Second)
	for len(*ep.Variant("single").ready.Load()) == 0 || len(*ep.Variant("multi").ready.Load()) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("no instance in service")
		}
		time.Sleep(10 * time.Millisecond)
	}
	g := NewGateway(GatewayConfig{})
	defer g.Close()
	ctx := context.Background()
	body := []byte(`{"instances":[[1.0,2.0,3.0,4.0]]}`)
	single := &InvokeRequest{Body: body, ContentType: "application/json", TargetVariant: "single"}
	multi := &InvokeRequest{Body: body, ContentType: "application/json", TargetVariant: "multi", TargetModel: "."}
	call := func(req *InvokeRequest) {
		if _, err := g.Invoke(ctx, ep, req); err != nil {
			b.Fatal(err)
		}
	}
	for range 200 { // warm up, and load the model
		call(single)
		call(multi)
	}
	sd := make([]time.Duration, 0, b.N)
	md := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	b.ReportAllocs()
	for range b.N {
		t0 := time.Now()
		call(single)
		t1 := time.Now()
		call(multi)
		t2 := time.Now()
		sd = append(sd, t1.Sub(t0))
		md = append(md, t2.Sub(t1))
	}
	b.StopTimer()
	ps, pm := p50(sd), p50(md)
	b.ReportMetric(ps, "single-p50-µs")
	b.ReportMetric(pm, "multi-hit-p50-µs")
	b.ReportMetric(pm-ps, "added-p50-µs")
}
