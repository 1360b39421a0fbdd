package sagemaker_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/recommend"
	sm "github.com/inferscale/inferscale/internal/sagemaker"
	"github.com/inferscale/inferscale/internal/server"
)

// The job tests run `inferscale serve`'s Server (server.New + Serve, which
// runs the job runner) on a loopback listener, with its SQLite database in
// a temporary directory, and drive it with the real aws-sdk-go-v2 client.
// Instances are the built sample model server; the reference model
// (INFERSCALE_MODEL=reference) makes runs short and their numbers known:
// its capacity is exactly slots / service time.

const (
	jobRegion = "us-east-1"
	jobRole   = "arn:aws:iam::123456789012:role/inferscale"
	// Prices of the test catalog: ml.c8g.medium and ml.m8g.medium have one
	// vCPU each, so two of them fit a 2-core host with the load generator.
	priceC8g = 0.04
	priceM8g = 0.05
)

// quickTuning keeps every benchmark to a few seconds.
var quickTuning = recommend.Tuning{Warmup: time.Second, Level: 2 * time.Second, Confirm: 3 * time.Second, Window: 2 * time.Second}

func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	def, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := def.Merge(strings.NewReader(`{"instanceTypes": [
		{"name": "ml.c8g.medium", "pricePerHour": {"us-east-1": 0.04}},
		{"name": "ml.m8g.medium", "pricePerHour": {"us-east-1": 0.05}}]}`), "test prices")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

type jobEnv struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	opts sm.JobOptions
	srv  *server.Server
	sm   *sagemaker.Client
	stop func()
}

// newJobEnv starts a server whose jobs run at most maxJobs at once.
func newJobEnv(t *testing.T, maxJobs int) *jobEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &jobEnv{t: t, ctx: ctx, dir: t.TempDir(), opts: sm.JobOptions{
		Catalog:            testCatalog(t),
		Tuning:             quickTuning,
		MaxConcurrentJobs:  maxJobs,
		SampleModelCommand: []string{inferscaleBinary(t), "model-server"},
	}}
	e.start()
	t.Cleanup(func() { e.stop() })
	return e
}

// start runs the server on the data directory until stop.
func (e *jobEnv) start() {
	e.t.Helper()
	var url string
	e.srv, url, e.stop = serveTest(e.t, e.ctx, server.Config{DataDir: e.dir, CheckOutput: true, Version: "test", Jobs: e.opts})
	e.sm = sdkClient(url)
}

// serveTest runs a server built from cfg on a loopback port and returns it,
// its URL and a stop function (safe to call twice) that cancels Serve,
// fails t if Serve errs or hangs, and closes the server.
func serveTest(t testing.TB, ctx context.Context, cfg server.Config) (*server.Server, string, func()) {
	t.Helper()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(45 * time.Second):
			t.Error("Serve did not return within 45 s of its cancellation")
		}
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}
	return srv, "http://" + ln.Addr().String(), stop
}

// restart stops the server gracefully and starts it again on the same data
// directory.
func (e *jobEnv) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

func sdkClient(url string) *sagemaker.Client {
	return sagemaker.NewFromConfig(aws.Config{
		Region: jobRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDJOBS", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(url) })
}

func jobArn(name string) string {
	return "arn:aws:sagemaker:" + jobRegion + ":123456789012:inference-recommendations-job/" + name
}

func packageArn(name string) string {
	return "arn:aws:sagemaker:" + jobRegion + ":123456789012:model-package/" + name
}

// referenceEnv is the environment of a reference model serving exactly
// slots/serviceTime requests per second, marked for procsWithEnv.
func referenceEnv(slots, serviceTime, marker string) map[string]string {
	return map[string]string{
		"INFERSCALE_MODEL":                  "reference",
		"INFERSCALE_REFERENCE_SLOTS":        slots,
		"INFERSCALE_REFERENCE_SERVICE_TIME": serviceTime,
		"INFERSCALE_TEST_MARKER":            marker,
	}
}

// payloadFiles are JSON request bodies any sample model accepts when it is
// the reference model (any width) or an MLP of input width 3.
var payloadFiles = map[string]string{
	"a.json":     `{"instances": [[0.1, 0.2, 0.3]]}`,
	"b.json":     `[[0.5, -0.25, 1]]`,
	"sub/c.json": `{"instances": [[-1, 0, 1]]}`,
}

// writeTarGz writes files into a tar.gz archive, as SageMaker packs model
// data and sample payloads.
func writeTarGz(t testing.TB, path string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// createReferencePackage stores an unversioned model package of the sample
// model server running the reference model, with file:// payloads.
func (e *jobEnv) createReferencePackage(name string, env map[string]string, instanceTypes ...types.ProductionVariantInstanceType) string {
	e.t.Helper()
	payloads := writeTarGz(e.t, filepath.Join(e.t.TempDir(), "payloads.tar.gz"), payloadFiles)
	out, err := e.sm.CreateModelPackage(e.ctx, &sagemaker.CreateModelPackageInput{
		ModelPackageName: aws.String(name),
		SamplePayloadUrl: aws.String("file://" + payloads),
		InferenceSpecification: &types.InferenceSpecification{
			Containers:                              []types.ModelPackageContainerDefinition{{Image: aws.String(sm.SampleModelImage + ":latest"), Environment: env}},
			SupportedContentTypes:                   []string{"application/json"},
			SupportedResponseMIMETypes:              []string{"application/json"},
			SupportedRealtimeInferenceInstanceTypes: instanceTypes,
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.ModelPackageArn)
}

// waitStatus polls the job until its status is one of want and returns the
// description; it fails the test on a terminal status not wanted.
func (e *jobEnv) waitStatus(name string, timeout time.Duration, want ...types.RecommendationJobStatus) *sagemaker.DescribeInferenceRecommendationsJobOutput {
	e.t.Helper()
	return waitJob(e.t, e.ctx, e.sm, name, timeout, want...)
}

func waitJob(t testing.TB, ctx context.Context, c *sagemaker.Client, name string, timeout time.Duration, want ...types.RecommendationJobStatus) *sagemaker.DescribeInferenceRecommendationsJobOutput {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d, err := c.DescribeInferenceRecommendationsJob(ctx, &sagemaker.DescribeInferenceRecommendationsJobInput{JobName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		for _, w := range want {
			if d.Status == w {
				return d
			}
		}
		switch d.Status {
		case types.RecommendationJobStatusCompleted, types.RecommendationJobStatusFailed, types.RecommendationJobStatusStopped:
			t.Fatalf("job %s ended %s (%s), want %v", name, d.Status, aws.ToString(d.FailureReason), want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after %s, want %v", name, d.Status, timeout, want)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (e *jobEnv) steps(name string) []types.InferenceRecommendationsJobStep {
	e.t.Helper()
	out, err := e.sm.ListInferenceRecommendationsJobSteps(e.ctx, &sagemaker.ListInferenceRecommendationsJobStepsInput{JobName: aws.String(name), MaxResults: aws.Int32(100)})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Steps
}

// waitNoProcs waits until no live process carries the marker.
func waitNoProcs(t testing.TB, marker string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker)
		if len(ps) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("model server processes still alive after %s: %+v", timeout, ps)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitProcs waits until a live process carries the marker and returns them.
func waitProcs(t testing.TB, marker string, timeout time.Duration) []proc {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker); len(ps) > 0 {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("no model server process within %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
