package sagemaker_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/inferscale/inferscale/internal/httpwire"
)

// BenchmarkInvokeEndpoint measures InvokeEndpoint through the whole of
// `inferscale serve`, running in this process — the lean HTTP server, the
// API router, the gateway and the invocation metrics — against one replica
// of a tiny MLP (a real model-server process), from a keep-alive client on
// a raw socket, one request at a time. Its allocs/op are serve's per
// invocation (the client allocates nothing); ns/op is the latency,
// replica included.
//
//	go test -run XXX -bench InvokeEndpoint -benchmem ./internal/sagemaker
func BenchmarkInvokeEndpoint(b *testing.B) {
	e := newHostEnv(b)
	e.createModel("bench", map[string]string{
		"INFERSCALE_MODEL": "mlp", "INFERSCALE_MLP_INPUT": "4", "INFERSCALE_MLP_HIDDEN": "4", "INFERSCALE_MLP_CLASSES": "2",
	})
	e.hostOneVariant("bench", "bench")

	host := strings.TrimPrefix(e.url, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	body := `{"instances": [[0.5, -1.25, 2.0, 0.75]]}`
	// The account is the SDK clients' (serve runs without credentials,
	// and takes the scope of the signature as it is).
	auth := "AWS4-HMAC-SHA256 Credential=AKIDHOST/20260101/" + region + "/sagemaker/aws4_request, SignedHeaders=host, Signature=00"
	req := []byte(fmt.Sprintf("POST /endpoints/bench/invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Authorization: %s\r\nContent-Length: %d\r\n\r\n%s", host, auth, len(body), body))
	br := bufio.NewReaderSize(c, 16<<10)
	var resp httpwire.Response
	resp.KeepBody = 1 << 10
	invoke := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp.Reset(false)
		for !resp.Done() {
			buf, err := br.Peek(1)
			if err != nil {
				b.Fatal(err)
			}
			buf, _ = br.Peek(br.Buffered())
			n, err := resp.Advance(buf)
			if err != nil {
				b.Fatal(err)
			}
			br.Discard(n)
		}
		if resp.Status != 200 {
			b.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
	}
	for range 100 { // warm up: connections, metric series
		invoke()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		invoke()
	}
}
