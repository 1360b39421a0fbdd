package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/recommend"
	"github.com/inferscale/inferscale/internal/sagemaker"
	"github.com/inferscale/inferscale/internal/server"
	"github.com/inferscale/inferscale/internal/store"
)

const (
	jobsTestKey    = "AKIDJOBSTEST"
	jobsTestSecret = "jobs-test-secret"
	jobsTestRole   = "arn:aws:iam::123456789012:role/inferscale"
)

// isolateAWSEnv makes the AWS configuration come from the environment this
// test sets only, not from the user's files or variables.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_REGION", "AWS_DEFAULT_REGION", "INFERSCALE_ENDPOINT_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// jobsServer is an in-process `inferscale serve` without its job runner, so
// that jobs stay as the test leaves them.
type jobsServer struct {
	srv *server.Server
	url string
}

func startJobsServer(t *testing.T, creds map[string]api.Credential) *jobsServer {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), Credentials: creds, CheckOutput: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler()) // 127.0.0.1
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &jobsServer{srv: srv, url: hs.URL}
}

// runCLI runs the inferscale command line in-process.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	code = run(ctx, cmdIO{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: getenv}, args)
	return code, out.String(), errOut.String()
}

// call calls the server the way the commands do.
func (s *jobsServer) call(t *testing.T, op string, in any) {
	t.Helper()
	f := clientFlags{endpointURL: s.url, region: "us-east-1"}
	c, err := newAPIClient(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var out json.RawMessage
	if err := c.call(context.Background(), op, in, &out); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// createJob creates a Default job of the sample model; without the job
// runner it stays PENDING.
func (s *jobsServer) createJob(t *testing.T, pkgARN, name string) {
	t.Helper()
	s.call(t, "CreateInferenceRecommendationsJob", map[string]any{
		"JobName": name, "JobType": "Default", "RoleArn": jobsTestRole,
		"InputConfig": map[string]any{"ModelPackageVersionArn": pkgARN},
	})
}

// createPackage creates a model package of the built-in sample model.
func (s *jobsServer) createPackage(t *testing.T) string {
	t.Helper()
	s.call(t, "CreateModelPackage", map[string]any{
		"ModelPackageName": "sample",
		"InferenceSpecification": map[string]any{
			"Containers":                              []map[string]any{{"Image": sagemaker.SampleModelImage}},
			"SupportedContentTypes":                   []string{"application/json"},
			"SupportedResponseMIMETypes":              []string{"application/json"},
			"SupportedRealtimeInferenceInstanceTypes": []string{"ml.c8g.medium", "ml.m8g.medium"},
		},
	})
	return "arn:aws:sagemaker:us-east-1:" + api.DefaultAccount + ":model-package/sample"
}

// finish makes a stored job end with status and these steps, as the job
// runner would have.
func (s *jobsServer) finish(t *testing.T, name, status, reason string, steps ...recommend.StepResult) {
	t.Helper()
	ctx := context.Background()
	key := store.Key{Account: api.DefaultAccount, Region: "us-east-1", Kind: "inference-recommendations-job", Name: name}
	end := time.Now().UTC().Truncate(time.Millisecond)
	r, err := s.srv.Store.Mutate(ctx, key, func(r *store.Resource) error {
		var doc map[string]any
		if err := json.Unmarshal(r.Doc, &doc); err != nil {
			return err
		}
		doc["Status"], doc["CompletionTime"], doc["LastModifiedTime"] = status, awstime.At(end), awstime.At(end)
		if reason != "" {
			doc["FailureReason"] = reason
		}
		b, err := json.Marshal(doc)
		r.Doc, r.Status, r.Updated = b, status, end
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.srv.Store.PutStep(ctx, r.ARN, store.Step{Index: st.Index, Status: st.Status, Doc: b, Updated: end}); err != nil {
			t.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestJobsCommands lists and shows jobs of a real server on a real SQLite
// file, signed with credentials from the environment.
func TestJobsCommands(t *testing.T) {
	isolateAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", jobsTestKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", jobsTestSecret)
	s := startJobsServer(t, map[string]api.Credential{jobsTestKey: {SecretKey: jobsTestSecret}})
	pkg := s.createPackage(t)
	for _, n := range []string{"done", "broken", "queued", "halted", "extra-1", "extra-2"} {
		s.createJob(t, pkg, n)
	}
	s.call(t, "StopInferenceRecommendationsJob", map[string]string{"JobName": "halted"})
	start := time.Now().Add(-time.Minute).UTC()
	s.finish(t, "done", recommend.StatusCompleted, "",
		recommend.StepResult{Index: 0, InstanceType: "ml.m8g.medium", Status: recommend.StatusCompleted, InstanceCount: 1,
			Start: start, End: start.Add(30 * time.Second),
			Metrics: &recommend.Metrics{MaxInvocations: 6000, ModelLatency: 12500, CostPerHour: ptr(0.06), CostPerInference: ptr(0.06 / 360000),
				CpuUtilization: ptr(81.25), MemoryUtilization: ptr(3.5), ModelSetupTime: ptr(2)}},
		recommend.StepResult{Index: 1, InstanceType: "ml.c8g.medium", Status: recommend.StatusCompleted, InstanceCount: 1,
			Environment: []recommend.EnvironmentParameter{{Key: "OMP_NUM_THREADS", ValueType: "string", Value: "1"}},
			Start:       start, End: start.Add(30 * time.Second),
			Metrics: &recommend.Metrics{MaxInvocations: 6000, ModelLatency: 11000, CostPerHour: ptr(0.04), CostPerInference: ptr(0.04 / 360000),
				CpuUtilization: ptr(77.0), MemoryUtilization: ptr(2.25), ModelSetupTime: ptr(1)}},
		recommend.StepResult{Index: 2, InstanceType: "ml.c8g.large", Status: recommend.StatusFailed, FailureReason: "the model server exited: status 3",
			Start: start, End: start.Add(5 * time.Second)},
	)
	longReason := "The model server did not answer /ping within 600 s on every instance type that was tried, so nothing was measured."
	s.finish(t, "broken", recommend.StatusFailed, longReason)

	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string // lines or fragments stdout must contain
		not  []string // fragments stdout must not contain
		err  string
	}{
		{name: "all jobs, two per page", args: []string{"jobs", "--endpoint-url", s.url, "--page-size", "2"},
			want: []string{"NAME", "FAILURE REASON", "done ", "broken ", "queued ", "halted ", "extra-1 ", "extra-2 ",
				"COMPLETED", "STOPPED", "PENDING", "FAILED", longReason[:57] + "..."},
			not: []string{longReason}},
		{name: "endpoint from the environment", env: map[string]string{"INFERSCALE_ENDPOINT_URL": s.url}, args: []string{"jobs"},
			want: []string{"done ", "extra-2 "}},
		{name: "by status", args: []string{"jobs", "--endpoint-url", s.url, "--status", "pending"},
			want: []string{"queued ", "extra-1 ", "extra-2 "}, not: []string{"done ", "broken ", "halted "}},
		{name: "by name", args: []string{"jobs", "--endpoint-url", s.url, "--name-contains", "extra"},
			want: []string{"extra-1 ", "extra-2 "}, not: []string{"done ", "queued "}},
		{name: "none match", args: []string{"jobs", "--endpoint-url", s.url, "--name-contains", "nothing"},
			want: []string{"No recommendation jobs."}},
		{name: "completed job", args: []string{"job", "done", "--endpoint-url", s.url},
			want: []string{"Job done (Default): COMPLETED", "completed ",
				"RANK  INSTANCE TYPE  COUNT  MAX INV/MIN  LATENCY P50 ms  CPU %  MEM %  SETUP s  $/HOUR  $/1M INF  ENVIRONMENT",
				// Cheaper per inference ranks first.
				"1     ml.c8g.medium  1      6000         11.00           77.0   2.25   1        0.0400  0.1111    OMP_NUM_THREADS=1",
				"2     ml.m8g.medium  1      6000         12.50           81.2   3.50   2        0.0600  0.1667"},
			not: []string{"Steps:", "ml.c8g.large"}},
		{name: "completed job with steps", args: []string{"job", "--steps", "--endpoint-url", s.url, "done"},
			want: []string{"Steps:", "STEP  STATUS     INSTANCE TYPE  ENVIRONMENT        FAILURE REASON",
				"1     COMPLETED  ml.m8g.medium", "2     COMPLETED  ml.c8g.medium  OMP_NUM_THREADS=1",
				"3     FAILED     ml.c8g.large                      the model server exited: status 3"}},
		{name: "failed job", args: []string{"job", "broken", "--endpoint-url", s.url},
			want: []string{"Job broken (Default): FAILED", "FailureReason: " + longReason}, not: []string{"RANK"}},
		{name: "pending job", args: []string{"job", "queued", "--endpoint-url", s.url, "--steps"},
			want: []string{"Job queued (Default): PENDING", "No steps."}, not: []string{"RANK", "completed "}},
		{name: "unknown job", args: []string{"job", "nope", "--endpoint-url", s.url}, code: 1,
			err: "inferscale job: ResourceNotFound: Inference recommendations job arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/nope does not exist."},
		{name: "bad status", args: []string{"jobs", "--endpoint-url", s.url, "--status", "DONE"}, code: 1,
			err: "inferscale jobs: ValidationException: "},
		{name: "no name", args: []string{"job", "--endpoint-url", s.url}, code: 2, err: "the job's name is required"},
		{name: "bad output", args: []string{"jobs", "--output", "yaml"}, code: 2, err: `--output "yaml"`},
		{name: "bad URL", args: []string{"jobs", "--endpoint-url", "127.0.0.1:8686"}, code: 2, err: "--endpoint-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.env, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s\nstdout:\n%s", code, tt.code, stderr, stdout)
			}
			if tt.err != "" && !strings.Contains(stderr, tt.err) {
				t.Errorf("stderr %q lacks %q", stderr, tt.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(stdout, n) {
					t.Errorf("stdout has %q:\n%s", n, stdout)
				}
			}
		})
	}
}

// TestJobsJSON checks that --output json gives the server's responses.
func TestJobsJSON(t *testing.T) {
	isolateAWSEnv(t)
	s := startJobsServer(t, nil) // unsigned requests are accepted
	pkg := s.createPackage(t)
	for i := range 3 {
		s.createJob(t, pkg, fmt.Sprintf("job-%d", i))
	}
	s.finish(t, "job-1", recommend.StatusFailed, "no instance type fits")

	code, stdout, stderr := runCLI(t, nil, "jobs", "--endpoint-url", s.url, "--output", "json", "--page-size", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list struct {
		InferenceRecommendationsJobs []map[string]any
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	names := map[string]bool{}
	for _, j := range list.InferenceRecommendationsJobs {
		names[j["JobName"].(string)] = true
		if j["ModelPackageVersionArn"] != pkg || j["JobArn"] == nil {
			t.Errorf("entry %v lacks the server's members", j)
		}
	}
	if len(list.InferenceRecommendationsJobs) != 3 || !names["job-0"] || !names["job-1"] || !names["job-2"] {
		t.Errorf("listed %v, want job-0..2 once each", names)
	}

	for _, tt := range []struct {
		args  []string
		steps bool
	}{{[]string{"job", "job-1"}, false}, {[]string{"job", "job-1", "--steps"}, true}} {
		code, stdout, stderr := runCLI(t, nil, append(tt.args, "--endpoint-url", s.url, "--output", "json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, stderr)
		}
		var d recommend.JobDescription
		if tt.steps {
			var both struct {
				Job   recommend.JobDescription
				Steps []recommend.JobStep
			}
			if err := json.Unmarshal([]byte(stdout), &both); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
			if both.Steps == nil || len(both.Steps) != 0 {
				t.Errorf("steps %v, want an empty list", both.Steps)
			}
			d = both.Job
		} else if err := json.Unmarshal([]byte(stdout), &d); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		if d.JobName != "job-1" || d.Status != recommend.StatusFailed || d.FailureReason != "no instance type fits" ||
			d.InputConfig.ModelPackageVersionArn != pkg || d.CreationTime.IsZero() {
			t.Errorf("%v: description %+v", tt.args, d)
		}
	}
}

// TestJobsConnectionErrors checks what a user sees without a server, and
// with a server that wants signatures when there are no credentials.
func TestJobsConnectionErrors(t *testing.T) {
	isolateAWSEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{{"jobs", "--endpoint-url", closed}, {"job", "x", "--endpoint-url", closed}} {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "no server answers at "+closed) ||
			!strings.Contains(stderr, "inferscale serve --data-dir") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}

	s := startJobsServer(t, map[string]api.Credential{jobsTestKey: {SecretKey: jobsTestSecret}})
	code, _, stderr := runCLI(t, nil, "jobs", "--endpoint-url", s.url)
	if code != 1 || !strings.Contains(stderr, "inferscale jobs: MissingAuthenticationToken") {
		t.Errorf("unsigned to a server with credentials: exit %d, stderr %q", code, stderr)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", jobsTestKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	code, _, stderr = runCLI(t, nil, "jobs", "--endpoint-url", s.url)
	if code != 1 || !strings.Contains(stderr, "inferscale jobs: InvalidSignature") {
		t.Errorf("wrong secret: exit %d, stderr %q", code, stderr)
	}
}

func TestResponseError(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`{"__type":"ResourceNotFound","message":"gone"}`, "ResourceNotFound: gone"},
		{`{"__type":"com.amazonaws.sagemaker#ResourceLimitExceeded:http://x/","Message":"too many"}`, "ResourceLimitExceeded: too many"},
		{`<html>bad gateway</html>`, "Op: 502 Bad Gateway: <html>bad gateway</html>"},
		{`{}`, "Op: 502 Bad Gateway: {}"},
	}
	for _, tt := range tests {
		if got := responseError("Op", "502 Bad Gateway", []byte(tt.body)).Error(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.body, got, tt.want)
		}
	}
}
