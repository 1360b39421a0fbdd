package sagemaker_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/hosting"
)

// payloadTooLarge is SageMaker Runtime's answer to a payload over its
// limit: the validation of the length of InvokeEndpoint's Body.
var payloadTooLarge = fmt.Sprintf("1 validation error detected: Value at 'body' failed to satisfy constraint: "+
	"Member must have length less than or equal to %d", hosting.MaxPayloadBytes)

// TestInvokePayloadLimit sends InvokeEndpoint payloads around SageMaker's
// 6 MB limit to `inferscale serve` on raw connections, as clients frame
// them: every payload over the limit is answered with the ValidationError
// that 6 MB + 1 byte gets, whatever its size and framing, and the
// connection closes after the answer, the rest of the body unread. A
// client that sent Expect: 100-continue with a Content-Length over the
// limit is answered at once, without a 100 Continue, so that it does not
// send the body.
func TestInvokePayloadLimit(t *testing.T) {
	e := newHostEnv(t)
	addr := strings.TrimPrefix(e.url, "http://")
	head := "POST /endpoints/nope/invocations HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n"
	tests := []struct {
		name string
		head string // the request head, with its blank line
		body func(w io.Writer) error
		msg  string // the ValidationError's message
	}{
		{
			// The body is not sent: a client that expects 100 Continue
			// waits for it.
			name: "Expect 100-continue, Content-Length over the limit",
			head: head + fmt.Sprintf("Expect: 100-continue\r\nContent-Length: %d\r\n\r\n", hosting.MaxPayloadBytes+1),
			msg:  payloadTooLarge,
		},
		{
			name: "Content-Length over 8 MiB",
			head: head + fmt.Sprintf("Content-Length: %d\r\n\r\n", 8<<20+1),
			body: func(w io.Writer) error { return writeN(w, 8<<20+1) },
			msg:  payloadTooLarge,
		},
		{
			name: "Content-Length just over the limit",
			head: head + fmt.Sprintf("Content-Length: %d\r\n\r\n", hosting.MaxPayloadBytes+1),
			body: func(w io.Writer) error { return writeN(w, hosting.MaxPayloadBytes+1) },
			msg:  payloadTooLarge,
		},
		{
			name: "chunked over the limit",
			head: head + "Transfer-Encoding: chunked\r\n\r\n",
			body: func(w io.Writer) error {
				chunk := strings.Repeat("x", 64<<10)
				for sent := 0; sent < 16<<20; sent += len(chunk) {
					if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
						return err
					}
				}
				_, err := io.WriteString(w, "0\r\n\r\n")
				return err
			},
			msg: payloadTooLarge,
		},
		{
			// At the limit the payload is taken: the endpoint is looked
			// up (and here does not exist).
			name: "Content-Length at the limit",
			head: head + fmt.Sprintf("Content-Length: %d\r\n\r\n", hosting.MaxPayloadBytes),
			body: func(w io.Writer) error { return writeN(w, hosting.MaxPayloadBytes) },
			msg:  "Endpoint nope of account ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			// The server may answer before it has read the body, and stop
			// reading: the body is written while the answer is read.
			written := make(chan error, 1)
			go func() {
				_, err := io.WriteString(c, tt.head)
				if err == nil && tt.body != nil {
					err = tt.body(c)
				}
				written <- err
			}()
			defer func() {
				c.Close() // ends the write of a body the server left unread
				<-written
			}()
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == http.StatusContinue {
				t.Fatalf("100 Continue for a payload that is refused")
			}
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("status %d, body %q: %v", resp.StatusCode, raw, err)
			}
			if resp.StatusCode != http.StatusBadRequest || body.Type != "ValidationError" || !strings.HasPrefix(body.Message, tt.msg) {
				t.Errorf("%d %s %q, want 400 ValidationError %q", resp.StatusCode, body.Type, body.Message, tt.msg)
			}
			if tt.msg != payloadTooLarge {
				return
			}
			// The rest of the body was not read: the connection closes.
			if !resp.Close {
				t.Error("the answer does not say Connection: close")
			}
			if _, err := br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the connection is still open after the answer (%v)", err)
			}
		})
	}
}

// writeN writes n bytes of payload.
func writeN(w io.Writer, n int) error {
	chunk := []byte(strings.Repeat("x", 64<<10))
	for n > 0 {
		k, err := w.Write(chunk[:min(n, len(chunk))])
		if err != nil {
			return err
		}
		n -= k
	}
	return nil
}
