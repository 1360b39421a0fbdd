package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestSignatureScope: what a verified signature's credential scope must
// say, signed with the SDK's own signer: a region of a region's form (it
// becomes part of the caller's scope and ARNs), the service's signing
// name; no session token (this server issues none); lower-case hex; and
// presigned URLs are refused with a message that says they are not
// supported.
func TestSignatureScope(t *testing.T) {
	svc, _ := newJobsService()
	rt := &Router{Auth: SigV4Auth{Lookup: StaticCredentials(map[string]Credential{
		"AKIDGOOD": {SecretKey: "good-secret", Account: "111122223333"},
	})}}
	if err := rt.Add(svc); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	defer srv.Close()
	body := `{"JobName":"nope"}`
	sum := sha256.Sum256([]byte(body))
	payload := hex.EncodeToString(sum[:])
	newReq := func() *http.Request {
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("X-Amz-Target", "SageMaker.DescribeInferenceRecommendationsJob")
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		return r
	}
	sign := func(r *http.Request, creds aws.Credentials, service, region string) *http.Request {
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payload, service, region, time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	good := aws.Credentials{AccessKeyID: "AKIDGOOD", SecretAccessKey: "good-secret"}
	withToken := good
	withToken.SessionToken = "FAKESESSIONTOKEN"
	presigned := func() *http.Request {
		r := newReq()
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), good, r, payload, "sagemaker", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.URL, err = url.Parse(u); err != nil {
			t.Fatal(err)
		}
		return r
	}
	upper := func() *http.Request {
		r := sign(newReq(), good, "sagemaker", "us-east-1")
		h := r.Header.Get("Authorization")
		i := strings.Index(h, "Signature=") + len("Signature=")
		r.Header.Set("Authorization", h[:i]+strings.ToUpper(h[i:]))
		return r
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
		msg    string
	}{
		{"valid scope", sign(newReq(), good, "sagemaker", "eu-west-1"), 400, "ResourceNotFound", "Could not find job."},
		{"another account in the region", sign(newReq(), good, "sagemaker", "us-east-1:444455556666"), 400,
			"InvalidSignatureException", "Credential should be scoped to a valid region. "},
		{"capitals", sign(newReq(), good, "sagemaker", "EU-WEST-1"), 400, "InvalidSignatureException", "Credential should be scoped to a valid region. "},
		{"another service", sign(newReq(), good, "monitoring", "us-east-1"), 400,
			"InvalidSignatureException", "Credential should be scoped to correct service: 'sagemaker'. "},
		{"session token", sign(newReq(), withToken, "sagemaker", "us-east-1"), 400,
			"UnrecognizedClientException", "The security token included in the request is invalid."},
		{"upper-case signature", upper(), 400, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"presigned", presigned(), 403, "MissingAuthenticationTokenException", "Presigned URLs (query-string authentication) are not supported by this server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
			}
			if resp.StatusCode != tt.status || e.Type != tt.code || !strings.HasPrefix(e.Message, tt.msg) {
				t.Errorf("%d %s: %q; want %d %s: %q", resp.StatusCode, e.Type, e.Message, tt.status, tt.code, tt.msg)
			}
		})
	}
}

// TestQueryAuthStatus: a query service (CloudWatch) answers
// InvalidClientTokenId and SignatureDoesNotMatch with 403, as AWS's common
// errors do; JSON services answer their codes with 400.
func TestQueryAuthStatus(t *testing.T) {
	srv, _, _ := cwServer(t)
	form := "Action=ListMetrics&Version=2010-08-01"
	sum := sha256.Sum256([]byte(form))
	for _, tt := range []struct {
		name, key, secret, code string
	}{
		{"unknown key", "AKIDNOBODY", "x", "InvalidClientTokenId"},
		{"wrong secret", "AKIDCW", "wrong", "SignatureDoesNotMatch"},
	} {
		r, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		creds := aws.Credentials{AccessKeyID: tt.key, SecretAccessKey: tt.secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "monitoring", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "<Code>"+tt.code+"</Code>") {
			t.Errorf("%s: %d %s; want 403 %s", tt.name, resp.StatusCode, b, tt.code)
		}
	}
}

// TestScopeAuthPresigned: without verification, a presigned URL's scope
// picks the account and region as a signed header's does.
func TestScopeAuthPresigned(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/?Action=ListMetrics&X-Amz-Credential=AKIDB%2F20260101%2Feu-west-1%2Fmonitoring%2Faws4_request&X-Amz-Signature=ab", nil)
	id, err := ScopeAuth{Account: func(string) string { return "210987654321" }}.Authenticate(r, nil, time.Now())
	if err != nil || id.AccessKey != "AKIDB" || id.Region != "eu-west-1" || id.Account != "210987654321" || id.Verified {
		t.Errorf("identity %+v, err %v", id, err)
	}
	r = httptest.NewRequest(http.MethodGet, "/?X-Amz-Credential=AKIDB%2F20260101%2Fus-east-1%3A1%2Fmonitoring%2Faws4_request", nil)
	if _, err := (ScopeAuth{}).Authenticate(r, nil, time.Now()); err == nil || !strings.Contains(err.Error(), "valid region") {
		t.Errorf("a scope with a colon in its region: %v", err)
	}
}
