package sagemaker_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/server"
)

// The tests drive the operations with the real aws-sdk-go-v2 SageMaker
// client over loopback HTTP, against the handler `inferscale serve` builds
// (server.New), with its SQLite database in a temporary directory. Every
// response is validated against the botocore model (CheckOutput).

const (
	region  = "us-west-2"
	account = api.DefaultAccount
	role    = "arn:aws:iam::123456789012:role/inferscale"
)

// clock is the server's clock; tests move it to give resources distinct
// creation times. It starts near the real time so that SigV4 signatures
// (made with the real clock) are within the allowed skew.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	creds map[string]api.Credential
	clock *clock
	srv   *server.Server
	http  *httptest.Server
	sm    *sagemaker.Client // region us-west-2, default account
}

func newEnv(t *testing.T, creds map[string]api.Credential) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, dir: t.TempDir(), creds: creds,
		clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	e.start()
	t.Cleanup(e.stop)
	e.sm = e.client(region, "AKIDTEST", "secret")
	return e
}

func (e *env) start() {
	e.t.Helper()
	srv, err := server.New(e.ctx, server.Config{DataDir: e.dir, Credentials: e.creds, CheckOutput: true, Now: e.clock.Now, Version: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.http = httptest.NewServer(srv.Handler())
}

func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.http.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Error(err)
	}
	e.srv = nil
}

// restart closes the server and its store and opens them again on the same
// data directory, at a new address.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
	e.sm = e.client(region, "AKIDTEST", "secret")
}

func (e *env) client(region, key, secret string) *sagemaker.Client {
	cfg := aws.Config{
		Region: region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
	url := e.http.URL
	return sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(url) })
}

// wantErr checks that err is an API error with this code and message. A
// message ending in "..." is a prefix; "" matches any message.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("error %v, want %s", err, code)
		return
	}
	got := ae.ErrorMessage()
	okMsg := msg == "" || got == msg
	if p, isPrefix := strings.CutSuffix(msg, "..."); isPrefix {
		okMsg = strings.HasPrefix(got, p)
	}
	if ae.ErrorCode() != code || !okMsg {
		t.Errorf("got %s: %q\nwant %s: %q", ae.ErrorCode(), got, code, msg)
	}
}

func arn(kind, path string) string {
	return "arn:aws:sagemaker:" + region + ":" + account + ":" + kind + "/" + path
}
