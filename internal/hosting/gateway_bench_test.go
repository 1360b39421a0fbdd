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
// p50 of each and the p50 the gateway adds. Both use a keep-alive client.
func BenchmarkGatewayOverhead(b *testing.B) {
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
	url := (*v.ready.Load())[0].invURL
	g := NewGateway(GatewayConfig{})
	defer g.Close()
	direct := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, DisableCompression: true}}
	body := []byte(`{"instances":[[1.0,2.0,3.0,4.0]]}`)
	ctx := context.Background()
	req := &InvokeRequest{Body: body, ContentType: "application/json", Accept: "application/json"}

	callDirect := func() {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json")
		resp, err := direct.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	callGateway := func() {
		if _, err := g.Invoke(ctx, ep, req); err != nil {
			b.Fatal(err)
		}
	}
	for range 200 { // warm up both pools
		callDirect()
		callGateway()
	}
	dd := make([]time.Duration, 0, b.N)
	gd := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	b.ReportAllocs()
	for range b.N {
		t0 := time.Now()
		callDirect()
		t1 := time.Now()
		callGateway()
		t2 := time.Now()
		dd = append(dd, t1.Sub(t0))
		gd = append(gd, t2.Sub(t1))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Microsecond)
	}
	pd, pg := p50(dd), p50(gd)
	b.ReportMetric(pd, "direct-p50-µs")
	b.ReportMetric(pg, "gateway-p50-µs")
	b.ReportMetric(pg-pd, "added-p50-µs")
}
