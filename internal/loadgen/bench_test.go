package loadgen

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkClosedLoop measures closed-loop throughput against the server at
// $LOADGEN_BENCH_URL (e.g. nginx on loopback, see bench/loadgen/run.sh), or
// else against an in-process keep-alive server. It reports requests/s; the
// ns/op is per successful request.
func BenchmarkClosedLoop(b *testing.B) {
	url := os.Getenv("LOADGEN_BENCH_URL")
	if url == "" {
		url = startRawServer(b)
	}
	for _, users := range []int{1, 50} {
		b.Run("users="+itoa(users), func(b *testing.B) {
			res, err := Run(context.Background(), Options{
				Request:     Request{URL: url, Payloads: []Payload{{Body: []byte(`{"x":1}`), ContentType: "application/json"}}},
				Users:       ConstantUsers(users, 0),
				Duration:    time.Minute,
				MaxRequests: int64(b.N),
			})
			if err != nil {
				b.Fatal(err)
			}
			if res.Succeeded != int64(b.N) {
				b.Fatalf("succeeded %d of %d: %v %s", res.Succeeded, b.N, res.Errors, res.FirstError)
			}
			b.ReportMetric(res.Throughput(), "req/s")
			b.ReportMetric(float64(res.Quantile(0.99).Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkResponseParser parses a typical small keep-alive response.
func BenchmarkResponseParser(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 17:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 22\r\nConnection: keep-alive\r\n\r\n{\"predictions\":[0.5]}\n")
	var p response
	b.SetBytes(int64(len(resp)))
	for b.Loop() {
		p.reset(false)
		if _, err := p.Advance(resp); err != nil || !p.Done() {
			b.Fatal(err)
		}
	}
}
