package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		header string
		want   Authorization
		err    string
	}{
		{header: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-west-2/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
			want: Authorization{AccessKey: "AKIDEXAMPLE", Date: "20260101", Region: "us-west-2", Service: "sagemaker",
				SignedHeaders: []string{"content-type", "host", "x-amz-date"}, Signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"}},
		{header: "AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-1/monitoring/aws4_request,SignedHeaders=host,Signature=ab",
			want: Authorization{AccessKey: "AK", Date: "20260101", Region: "eu-west-1", Service: "monitoring", SignedHeaders: []string{"host"}, Signature: "ab"}},
		{header: "AWS4-HMAC-SHA1 Credential=AK/20260101/us-east-1/s/aws4_request, SignedHeaders=host, Signature=ab", err: "requires the AWS4-HMAC-SHA256 algorithm"},
		{header: "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/aws4_request, SignedHeaders=host, Signature=ab", err: "'Credential' parameter of the form"},
		{header: "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s/aws4_request", err: "requires 'SignedHeaders', 'Signature' parameter(s)"},
		{header: "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s/x/aws4_request, SignedHeaders=host, Signature=ab", err: "'Credential' parameter of the form"},
		{header: "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s/aws4_request/, SignedHeaders=host, Signature=ab", err: "'Credential' parameter of the form"},
		{header: "AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/s/aws4_request, SignedHeaders=host, Signature=ab", err: "'Credential' parameter of the form"},
		{header: "", err: "algorithm"},
	}
	for _, tt := range tests {
		got, err := ParseAuthorization(tt.header)
		if tt.err != "" {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeIncomplete || !strings.Contains(e.Message, tt.err) {
				t.Errorf("%q: err %v, want IncompleteSignatureException containing %q", tt.header, err, tt.err)
			}
			continue
		}
		if err != nil || got.AccessKey != tt.want.AccessKey || got.Scope() != tt.want.Scope() ||
			strings.Join(got.SignedHeaders, ";") != strings.Join(tt.want.SignedHeaders, ";") || got.Signature != tt.want.Signature {
			t.Errorf("%q: %+v, %v; want %+v", tt.header, got, err, tt.want)
		}
	}
}

// verifier is a loopback server that verifies every request it receives
// and answers with the outcome.
func verifier(t *testing.T, secret string, now func() time.Time) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		a, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err == nil {
			err = Verify(r, body, a, secret, now(), 0)
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				w.WriteHeader(400)
				io.WriteString(w, e.Code+": "+e.Message)
				return
			}
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "ok "+a.Region+" "+a.Service)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestVerifySDKSignatures signs requests with aws-sdk-go-v2's signer, sends
// them over loopback HTTP, and verifies them on the server side.
func TestVerifySDKSignatures(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	signedAt := time.Now().UTC().Truncate(time.Second)
	srv := verifier(t, secret, func() time.Time { return signedAt.Add(2 * time.Minute) })
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret}

	type req struct {
		method, path, body string
		header             map[string][]string
		payloadHash        string // "" means sha256 of body
		// tamper changes the request after signing.
		tamper func(*http.Request)
	}
	tests := []struct {
		name string
		req  req
		want string // "ok ..." or an error code
		sign string // signing secret, "" = secret
	}{
		{name: "JSON POST", req: req{method: "POST", path: "/", body: `{"JobName":"j"}`,
			header: map[string][]string{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"SageMaker.DescribeInferenceRecommendationsJob"}}},
			want: "ok us-west-2 sagemaker"},
		{name: "empty body", req: req{method: "POST", path: "/"}, want: "ok us-west-2 sagemaker"},
		{name: "query string", req: req{method: "GET", path: "/metrics?b=2&a=1&a=0&space=a%20b&plus=a%2Bb&utf=%C3%BC&empty=&flag"}, want: "ok us-west-2 sagemaker"},
		{name: "escaped path", req: req{method: "POST", path: "/endpoints/my%20endpoint/invocations", body: "raw"}, want: "ok us-west-2 sagemaker"},
		{name: "REST path", req: req{method: "POST", path: "/endpoints/ep-1/invocations", body: strings.Repeat("x", 10000),
			header: map[string][]string{"X-Amzn-SageMaker-Target-Variant": {"blue"}}}, want: "ok us-west-2 sagemaker"},
		{name: "repeated and spaced header values", req: req{method: "POST", path: "/",
			header: map[string][]string{"X-Amz-Meta-Multi": {"a", "  b   c  "}}}, want: "ok us-west-2 sagemaker"},
		{name: "unsigned payload header", req: req{method: "PUT", path: "/obj", body: "data", payloadHash: "UNSIGNED-PAYLOAD",
			header: map[string][]string{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}}, want: "ok us-west-2 sagemaker"},
		{name: "unsigned payload hash added to vouch for another body", req: req{method: "POST", path: "/", body: `{"a":1}`, tamper: func(r *http.Request) {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{"a":2}`)), 7
			sum := sha256.Sum256([]byte(`{"a":1}`))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		}}, want: CodeInvalidSignature},
		{name: "signed payload hash", req: req{method: "POST", path: "/", body: `{"a":1}`,
			header: map[string][]string{"X-Amz-Content-Sha256": {"015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"}}}, want: "ok us-west-2 sagemaker"},
		{name: "signed payload hash of another body", req: req{method: "POST", path: "/", body: `{"a":1}`,
			header: map[string][]string{"X-Amz-Content-Sha256": {"015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"}}, tamper: func(r *http.Request) {
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{"a":2}`)), 7
			}}, want: CodeInvalidSignature},
		{name: "wrong secret", req: req{method: "POST", path: "/", body: "{}"}, sign: "other", want: CodeInvalidSignature},
		{name: "body changed", req: req{method: "POST", path: "/", body: `{"a":1}`, tamper: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
		}}, want: CodeInvalidSignature},
		{name: "signed header changed", req: req{method: "POST", path: "/", header: map[string][]string{"X-Amz-Target": {"SageMaker.A"}}, tamper: func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "SageMaker.B")
		}}, want: CodeInvalidSignature},
		{name: "query changed", req: req{method: "GET", path: "/?a=1", tamper: func(r *http.Request) { r.URL.RawQuery = "a=2" }}, want: CodeInvalidSignature},
		{name: "path changed", req: req{method: "GET", path: "/a", tamper: func(r *http.Request) { r.URL.Path = "/b" }}, want: CodeInvalidSignature},
		{name: "scope date differs from X-Amz-Date", req: req{method: "GET", path: "/", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), signedAt.Format("20060102"), "19990101", 1))
		}}, want: CodeInvalidSignature},
		{name: "host not signed", req: req{method: "GET", path: "/", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
		}}, want: CodeInvalidSignature},
		{name: "no date", req: req{method: "GET", path: "/", tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") }}, want: CodeIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(tt.req.method, srv.URL+tt.req.path, strings.NewReader(tt.req.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.req.body == "" {
				r.Body, r.ContentLength = http.NoBody, 0
			}
			for k, vs := range tt.req.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			hash := tt.req.payloadHash
			if hash == "" {
				sum := sha256.Sum256([]byte(tt.req.body))
				hash = hex.EncodeToString(sum[:])
			}
			c := creds
			if tt.sign != "" {
				c.SecretAccessKey = tt.sign
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), c, r, hash, "sagemaker", "us-west-2", signedAt); err != nil {
				t.Fatal(err)
			}
			if tt.req.tamper != nil {
				tt.req.tamper(r)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if got := string(b); !strings.HasPrefix(got, tt.want) {
				t.Errorf("server said %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerifyClockSkew(t *testing.T) {
	signedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := httptest.NewRequest("POST", "http://sagemaker.local/", strings.NewReader("{}"))
	sum := sha256.Sum256([]byte("{}"))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "s"}, r,
		hex.EncodeToString(sum[:]), "sagemaker", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now  time.Time
		want string
	}{
		{signedAt, ""},
		{signedAt.Add(5 * time.Minute), ""},
		{signedAt.Add(-5 * time.Minute), ""},
		{signedAt.Add(10 * time.Minute), "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)"},
		{signedAt.Add(-10 * time.Minute), "Signature not yet current: 20260101T000000Z is still later than 20251231T235500Z (20251231T235000Z + 5 min.)"},
	}
	for _, tt := range tests {
		err := Verify(r, []byte("{}"), a, "s", tt.now, 0)
		got := ""
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidSignature {
				t.Fatalf("err %v", err)
			}
			got = e.Message
		}
		if got != tt.want {
			t.Errorf("now %v: %q, want %q", tt.now, got, tt.want)
		}
	}
}

// BenchmarkVerify verifies a signed InvokeEndpoint-sized request.
func BenchmarkVerify(b *testing.B) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	signedAt := time.Now().UTC().Truncate(time.Second)
	body := []byte(`{"instances": [[0.5, -1.25, 2.0, 0.75]]}`)
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/endpoints/bench/invocations", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret}, r,
		hex.EncodeToString(sum[:]), "sagemaker", "us-west-2", signedAt); err != nil {
		b.Fatal(err)
	}
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(r, body, a, secret, signedAt, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSigningKeyCache checks the remembered keys against the derivation
// and the bound on how many are kept.
func TestSigningKeyCache(t *testing.T) {
	a := Authorization{Date: "20261126", Region: "us-west-2", Service: "sagemaker"}
	derive := func(secret string) string {
		k := hmacSHA256([]byte("AWS4"+secret), a.Date)
		for _, s := range []string{a.Region, a.Service, "aws4_request"} {
			k = hmacSHA256(k, s)
		}
		return hex.EncodeToString(k)
	}
	for range 2 { // derived, then remembered
		for _, secret := range []string{"one", "two"} {
			if got, want := hex.EncodeToString(signingKey(secret, a)), derive(secret); got != want {
				t.Fatalf("key of %q: %s, want %s", secret, got, want)
			}
		}
	}
	for i := range 3 * maxKeys {
		b := a
		b.Region = "made-up-" + strconv.Itoa(i)
		signingKey("one", b)
	}
	keys.mu.Lock()
	n := len(keys.m)
	keys.mu.Unlock()
	if n > maxKeys {
		t.Errorf("%d keys remembered, want at most %d", n, maxKeys)
	}
}
