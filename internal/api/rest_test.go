package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inferscale/inferscale/internal/api/model"
)

// newRuntimeRouter serves an InvokeEndpoint that echoes the payload with the
// endpoint and variant it was routed to; its bodies are limited to 64
// bytes. edits change the service before it is added.
func newRuntimeRouter(t *testing.T, edits ...func(*Service)) *Router {
	t.Helper()
	rts := NewService(model.MustLoad("sagemaker-runtime"))
	rts.MaxBodyBytes = 64
	rts.Codes = Codes{KindInvalid: {"ValidationError", http.StatusBadRequest}, KindNotFound: {"ValidationError", http.StatusBadRequest}}
	for _, edit := range edits {
		edit(rts)
	}
	rts.Route("InvokeEndpoint", func(ctx context.Context, req *Request, w http.ResponseWriter, body []byte) error {
		name := req.PathValue("EndpointName")
		if name == "missing" {
			return Errorf(KindNotFound, "Endpoint %s of account %s not found.", name, req.Account)
		}
		if name == "model-error" {
			return &Error{Code: "ModelError", Status: 424, Message: "Received server error (500) from primary",
				Fields: map[string]any{"OriginalStatusCode": 500, "OriginalMessage": "boom"}}
		}
		variant := req.HTTP.Header.Get("X-Amzn-SageMaker-Target-Variant")
		if variant == "" {
			variant = "AllTraffic"
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Amzn-Invoked-Production-Variant", variant)
		fmt.Fprintf(w, "%s/%s/%s:", req.Region, name, variant)
		_, err := w.Write(body)
		return err
	})
	rts.Refuse("InvokeEndpoint", func(req *Request, member string) error {
		return Errorf(KindInvalid, "%s refused on %s.", member, req.PathValue("EndpointName"))
	}, "SessionId", "EnableExplanations")
	rt := &Router{}
	if err := rt.Add(rts); err != nil {
		t.Fatal(err)
	}
	return rt
}

// TestRefuseWiring checks that Refuse names members it can refuse.
func TestRefuseWiring(t *testing.T) {
	for _, tt := range []struct{ name, op, member string }{
		{"before Route", "InvokeEndpointAsync", "InferenceId"},
		{"unknown member", "InvokeEndpoint", "NoSuchMember"},
		{"not a header", "InvokeEndpoint", "EndpointName"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewService(model.MustLoad("sagemaker-runtime"))
			s.Route("InvokeEndpoint", func(context.Context, *Request, http.ResponseWriter, []byte) error { return nil })
			defer func() {
				if recover() == nil {
					t.Errorf("Refuse(%s, %s) did not panic", tt.op, tt.member)
				}
			}()
			s.Refuse(tt.op, func(*Request, string) error { return nil }, tt.member)
		})
	}
}

func TestRESTRoutes(t *testing.T) {
	rt := newRuntimeRouter(t)
	scope := map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/sagemaker/aws4_request, SignedHeaders=host, Signature=00"}
	tests := []struct {
		name    string
		path    string
		header  map[string]string
		body    string
		status  int
		code    string // error code, or "" for success
		want    string // success body, or a fragment of the error message
		variant string
	}{
		{name: "invoke", path: "/endpoints/ep-1/invocations", header: scope, body: `{"x":1}`, status: 200, want: `eu-west-1/ep-1/AllTraffic:{"x":1}`, variant: "AllTraffic"},
		{name: "target variant header", path: "/endpoints/ep-1/invocations", header: map[string]string{"X-Amzn-SageMaker-Target-Variant": "blue"}, body: "raw", status: 200, want: "us-east-1/ep-1/blue:raw", variant: "blue"},
		{name: "label fails its pattern", path: "/endpoints/bad_name/invocations", body: "x", status: 400, code: "ValidationError",
			want: "Value 'bad_name' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*"},
		{name: "header fails its pattern", path: "/endpoints/ep-1/invocations", header: map[string]string{"X-Amzn-SageMaker-Target-Variant": "no_underscores"}, body: "x", status: 400, code: "ValidationError",
			want: "at 'targetVariant' failed to satisfy constraint"},
		{name: "payload over the limit", path: "/endpoints/ep-1/invocations", body: strings.Repeat("x", 65), status: 413, code: "RequestEntityTooLargeException", want: "limit of 64 bytes"},
		{name: "handler error", path: "/endpoints/missing/invocations", body: "x", status: 400, code: "ValidationError", want: "Endpoint missing of account 123456789012 not found."},
		{name: "error with extra fields", path: "/endpoints/model-error/invocations", body: "x", status: 424, code: "ModelError", want: "Received server error"},
		{name: "escaped label served through ServeMux", path: "/endpoints/ep%2D1/invocations", body: "raw", status: 200, want: "us-east-1/ep-1/AllTraffic:raw", variant: "AllTraffic"},
		{name: "refused member", path: "/endpoints/ep-1/invocations", header: map[string]string{"X-Amzn-SageMaker-Session-Id": "NEW_SESSION"}, body: "x", status: 400, code: "ValidationError",
			want: "SessionId refused on ep-1."},
		{name: "refused member beside valid ones", path: "/endpoints/ep-1/invocations", header: map[string]string{"X-Amzn-SageMaker-Target-Variant": "blue", "X-Amzn-SageMaker-Enable-Explanations": "`true`"}, body: "x", status: 400, code: "ValidationError",
			want: "EnableExplanations refused on ep-1."},
		{name: "refused member through ServeMux", path: "/endpoints/ep%2D1/invocations", header: map[string]string{"X-Amzn-SageMaker-Session-Id": "NEW_SESSION"}, body: "x", status: 400, code: "ValidationError",
			want: "SessionId refused on ep-1."},
		{name: "unknown path", path: "/endpoints/ep-1/other", body: "x", status: 404, code: "UnknownOperationException", want: "No operation matches POST /endpoints/ep-1/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, rt, http.MethodPost, tt.path, tt.header, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.raw)
			}
			if tt.code == "" {
				if r.raw != tt.want || r.header.Get("X-Amzn-Invoked-Production-Variant") != tt.variant || r.header.Get("x-amzn-RequestId") == "" {
					t.Errorf("got %q %v", r.raw, r.header)
				}
				return
			}
			if r.header.Get("X-Amzn-ErrorType") != tt.code || r.body["__type"] != tt.code || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("error headers %v body %s, want code %s", r.header, r.raw, tt.code)
			}
			if msg, _ := r.body["message"].(string); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks %q", msg, tt.want)
			}
			if tt.code == "ModelError" && (r.body["OriginalStatusCode"] != float64(500) || r.body["OriginalMessage"] != "boom") {
				t.Errorf("extra fields missing: %s", r.raw)
			}
		})
	}
}

// countingBody is a request body of size bytes that counts the bytes read
// from it.
type countingBody struct {
	size, read int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), b.size-b.read))
	clear(p[:n])
	b.read += int64(n)
	return n, nil
}

func (b *countingBody) Close() error { return nil }

// TestBodyOverTheLimit: a body over the service's limit is answered with
// 413 RequestEntityTooLargeException, one over the maximum length of a
// REST operation's blob payload (InvokeEndpoint's 6291456 bytes) with the
// ValidationError that validating its length gives, and the connection
// closes after the answer. A body whose Content-Length is over the limit
// is not read at all, so that a client that sent Expect: 100-continue is
// refused before it sends the body; one of unknown length (chunked) is
// read only to just past the limit.
func TestBodyOverTheLimit(t *testing.T) {
	const (
		payloadMax = 6291456
		tooLong    = "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 6291456"
	)
	serviceLimit := func(n int64) func(*Service) { return func(s *Service) { s.MaxBodyBytes = n } }
	tests := []struct {
		name     string
		limit    int64 // the service's MaxBodyBytes
		size     int64
		chunked  bool
		status   int
		code     string
		msg      string
		maxRead  int64
		keepOpen bool
	}{
		{name: "payload at its maximum", limit: DefaultMaxBodyBytes, size: payloadMax, status: 200, maxRead: payloadMax, keepOpen: true},
		{name: "declared payload over its maximum", limit: DefaultMaxBodyBytes, size: payloadMax + 1, status: 400, code: "ValidationError", msg: tooLong},
		{name: "declared payload over the service's limit too", limit: DefaultMaxBodyBytes, size: 1 << 40, status: 400, code: "ValidationError", msg: tooLong},
		{name: "chunked payload over its maximum", limit: DefaultMaxBodyBytes, size: 16 << 20, chunked: true, status: 400, code: "ValidationError",
			msg: tooLong, maxRead: payloadMax + 1},
		{name: "declared body over the service's limit", limit: 64, size: 65, status: 413, code: "RequestEntityTooLargeException",
			msg: "Request body of 65 bytes exceeds the limit of 64 bytes."},
		{name: "chunked body over the service's limit", limit: 64, size: 1 << 20, chunked: true, status: 413, code: "RequestEntityTooLargeException",
			msg: "Request body exceeds the limit of 64 bytes.", maxRead: 65},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntimeRouter(t, serviceLimit(tt.limit))
			body := &countingBody{size: tt.size}
			req := httptest.NewRequest(http.MethodPost, "/endpoints/ep-1/invocations", nil)
			req.Body, req.ContentLength = body, tt.size
			if tt.chunked {
				req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
			}
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, req)
			res := rec.Result()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %.200s", res.StatusCode, tt.status, raw)
			}
			if body.read > tt.maxRead {
				t.Errorf("%d bytes of the body read, want at most %d", body.read, tt.maxRead)
			}
			if closes := res.Header.Get("Connection") == "close"; closes == tt.keepOpen {
				t.Errorf("Connection: %q", res.Header.Get("Connection"))
			}
			if tt.code == "" {
				return
			}
			var e map[string]any
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("error body %s: %v", raw, err)
			}
			if e["__type"] != tt.code || res.Header.Get("X-Amzn-ErrorType") != tt.code || e["message"] != tt.msg {
				t.Errorf("error %s (header %s), want %s %q", raw, res.Header.Get("X-Amzn-ErrorType"), tt.code, tt.msg)
			}
		})
	}
}
