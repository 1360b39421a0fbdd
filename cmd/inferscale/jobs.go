package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/recommend"
)

// The client side of `inferscale serve`: `jobs` lists recommendation jobs
// and `job` shows one, talking the SageMaker JSON protocol to a server.

func init() {
	register(command{
		name:    "jobs",
		summary: "list the recommendation jobs of a SageMaker API server (inferscale serve)",
		run:     runJobs,
	})
	register(command{
		name:    "job",
		summary: "show a recommendation job of a SageMaker API server: status, recommendations, steps",
		run:     runJob,
	})
}

const (
	// defaultEndpointURL is where `inferscale serve` listens by default.
	defaultEndpointURL = "http://127.0.0.1:8686"
	// requestTimeout bounds each API request.
	requestTimeout = 30 * time.Second
	// maxPages bounds how many pages a listing follows.
	maxPages = 1000
	// failureWidth is how much of a failure reason the jobs table shows.
	failureWidth = 60
)

// clientFlags are the flags of the commands that talk to a server.
type clientFlags struct {
	endpointURL string
	region      string
	output      string
}

func (f *clientFlags) register(fs *flag.FlagSet, cio cmdIO) {
	def := cio.getenv("INFERSCALE_ENDPOINT_URL")
	if def == "" {
		def = defaultEndpointURL
	}
	fs.StringVar(&f.endpointURL, "endpoint-url", def, "the server's URL ($INFERSCALE_ENDPOINT_URL)")
	fs.StringVar(&f.region, "region", "", "region to sign requests for (default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1)")
	fs.StringVar(&f.output, "output", "text", "text or json")
}

func (f *clientFlags) check(cio cmdIO) error {
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("%w: --output %q: want text or json", errUsage, f.output)
	}
	u, err := url.Parse(f.endpointURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --endpoint-url %q: want http://HOST:PORT or https://HOST:PORT", errUsage, f.endpointURL)
	}
	if f.region == "" {
		f.region = cio.getenv("AWS_REGION")
	}
	if f.region == "" {
		f.region = cio.getenv("AWS_DEFAULT_REGION")
	}
	if f.region == "" {
		f.region = "us-east-1"
	}
	return nil
}

// apiClient calls SageMaker JSON 1.1 operations on one endpoint, signed
// with SigV4 when credentials are found and unsigned otherwise.
type apiClient struct {
	endpoint string
	region   string
	http     *http.Client
	creds    *aws.Credentials // nil: send unsigned
	signer   *v4.Signer
}

// newAPIClient finds credentials the way the AWS CLI does (environment,
// shared config and credentials files, web identity, container), but
// never the EC2 instance metadata service, whose timeouts would make every
// unsigned call slow.
func newAPIClient(ctx context.Context, f clientFlags) (*apiClient, error) {
	c := &apiClient{
		endpoint: strings.TrimRight(f.endpointURL, "/") + "/",
		region:   f.region,
		http:     &http.Client{Timeout: requestTimeout},
		signer:   v4.NewSigner(),
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(f.region), config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Credentials != nil {
		if cr, err := cfg.Credentials.Retrieve(ctx); err == nil && cr.HasKeys() {
			c.creds = &cr
		}
	}
	return c, nil
}

// apiError is an error answered by the server.
type apiError struct {
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// apiService is a JSON-protocol service the client calls.
type apiService struct {
	targetPrefix string // X-Amz-Target is targetPrefix.Operation
	signingName  string
	contentType  string
}

// The services the commands call.
var (
	sagemakerAPI   = apiService{"SageMaker", "sagemaker", "application/x-amz-json-1.1"}
	autoscalingAPI = apiService{"AnyScaleFrontendService", "application-autoscaling", "application/x-amz-json-1.1"}
	cloudwatchAPI  = apiService{"GraniteServiceVersion20100801", "monitoring", "application/x-amz-json-1.0"}
)

// call sends SageMaker operation op with input in and decodes the response
// into out.
func (c *apiClient) call(ctx context.Context, op string, in, out any) error {
	return c.callService(ctx, sagemakerAPI, op, in, out)
}

// callService sends operation op of svc with input in and decodes the
// response into out.
func (c *apiClient) callService(ctx context.Context, svc apiService, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", svc.contentType)
	req.Header.Set("X-Amz-Target", svc.targetPrefix+"."+op)
	if c.creds != nil {
		sum := sha256.Sum256(body)
		if err := c.signer.SignHTTP(ctx, *c.creds, req, hex.EncodeToString(sum[:]), svc.signingName, c.region, time.Now()); err != nil {
			return fmt.Errorf("%s: sign request: %w", op, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("no server answers at %s: start one with `inferscale serve --data-dir DIR`, "+
				"or point --endpoint-url (or $INFERSCALE_ENDPOINT_URL) at a running one", strings.TrimSuffix(c.endpoint, "/"))
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		return responseError(op, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", op, err)
	}
	return nil
}

// responseError turns an error response ({"__type", "message"}) into an
// apiError, or describes what came instead.
func responseError(op, status string, body []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Type == "" {
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "..."
		}
		return fmt.Errorf("%s: %s: %s", op, status, snippet)
	}
	// The JSON protocols allow "namespace#Code:uri" forms.
	code := e.Type
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	msg := e.Message
	if msg == "" {
		msg = e.MessageU
	}
	return &apiError{Code: code, Message: msg}
}

// jobSummary is the part of an InferenceRecommendationsJob (an entry of
// ListInferenceRecommendationsJobs) the table shows.
type jobSummary struct {
	JobName          string            `json:"JobName"`
	JobType          string            `json:"JobType"`
	Status           string            `json:"Status"`
	CreationTime     awstime.Timestamp `json:"CreationTime"`
	LastModifiedTime awstime.Timestamp `json:"LastModifiedTime"`
	FailureReason    string            `json:"FailureReason,omitempty"`
}

func runJobs(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "jobs", "[flags]")
	var f clientFlags
	f.register(fs, cio)
	status := fs.String("status", "", "only jobs in this status (PENDING, IN_PROGRESS, COMPLETED, FAILED, STOPPING, STOPPED)")
	nameContains := fs.String("name-contains", "", "only jobs whose name contains this")
	pageSize := fs.Int("page-size", 100, "jobs asked for per request (1-100); all pages are listed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *pageSize < 1 || *pageSize > 100 {
		return fmt.Errorf("%w: --page-size %d: want 1 to 100", errUsage, *pageSize)
	}
	if err := f.check(cio); err != nil {
		return err
	}
	c, err := newAPIClient(ctx, f)
	if err != nil {
		return err
	}
	raw, err := listJobs(ctx, c, strings.ToUpper(*status), *nameContains, *pageSize)
	if err != nil {
		return err
	}
	if f.output == "json" {
		return writeJSON(cio.stdout, map[string]any{"InferenceRecommendationsJobs": raw})
	}
	jobs := make([]jobSummary, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &jobs[i]); err != nil {
			return fmt.Errorf("decode job %d of the listing: %w", i, err)
		}
	}
	printJobs(cio.stdout, jobs)
	return nil
}

// listJobs lists the jobs, following NextToken, as the server sent them.
func listJobs(ctx context.Context, c *apiClient, status, nameContains string, pageSize int) ([]json.RawMessage, error) {
	type input struct {
		StatusEquals string `json:"StatusEquals,omitempty"`
		NameContains string `json:"NameContains,omitempty"`
		MaxResults   int    `json:"MaxResults"`
		NextToken    string `json:"NextToken,omitempty"`
	}
	var out output[json.RawMessage]
	in := input{StatusEquals: status, NameContains: nameContains, MaxResults: pageSize}
	all := []json.RawMessage{}
	for range maxPages {
		out = output[json.RawMessage]{}
		if err := c.call(ctx, "ListInferenceRecommendationsJobs", in, &out); err != nil {
			return nil, err
		}
		all = append(all, out.InferenceRecommendationsJobs...)
		if out.NextToken == "" {
			return all, nil
		}
		if out.NextToken == in.NextToken {
			return nil, fmt.Errorf("ListInferenceRecommendationsJobs: the server repeated NextToken %q", in.NextToken)
		}
		in.NextToken = out.NextToken
	}
	return nil, fmt.Errorf("ListInferenceRecommendationsJobs: more than %d pages", maxPages)
}

// output is a page of ListInferenceRecommendationsJobs or
// ListInferenceRecommendationsJobSteps.
type output[T any] struct {
	InferenceRecommendationsJobs []T                 `json:"InferenceRecommendationsJobs"`
	Steps                        []recommend.JobStep `json:"Steps"`
	NextToken                    string              `json:"NextToken"`
}

func printJobs(w io.Writer, jobs []jobSummary) {
	if len(jobs) == 0 {
		fmt.Fprintln(w, "No recommendation jobs.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSTATUS\tCREATED\tLAST MODIFIED\tFAILURE REASON")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.JobName, j.JobType, j.Status,
			clock(j.CreationTime.Time), clock(j.LastModifiedTime.Time), truncate(oneLine(j.FailureReason), failureWidth))
	}
	tw.Flush()
}

// clock formats t in local time, to the second.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate shortens s to at most n runes, marking the cut with "...".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

func runJob(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "job", "NAME [flags]")
	var f clientFlags
	f.register(fs, cio)
	steps := fs.Bool("steps", false, "also list the job's benchmark steps (--output json: {\"Job\": ..., \"Steps\": [...]})")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Flags may come after the name too.
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: the job's name is required", errUsage)
	}
	name := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := f.check(cio); err != nil {
		return err
	}
	c, err := newAPIClient(ctx, f)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.call(ctx, "DescribeInferenceRecommendationsJob", map[string]string{"JobName": name}, &raw); err != nil {
		return err
	}
	var desc recommend.JobDescription
	if err := json.Unmarshal(raw, &desc); err != nil {
		return fmt.Errorf("DescribeInferenceRecommendationsJob: decode response: %w", err)
	}
	var st []recommend.JobStep
	if *steps {
		if st, err = listSteps(ctx, c, name); err != nil {
			return err
		}
	}
	if f.output == "json" {
		if !*steps {
			return writeJSON(cio.stdout, raw)
		}
		return writeJSON(cio.stdout, map[string]any{"Job": raw, "Steps": st})
	}
	printJob(cio.stdout, desc)
	if *steps {
		printSteps(cio.stdout, st)
	}
	return nil
}

// listSteps lists a job's steps, following NextToken.
func listSteps(ctx context.Context, c *apiClient, name string) ([]recommend.JobStep, error) {
	type input struct {
		JobName    string `json:"JobName"`
		MaxResults int    `json:"MaxResults"`
		NextToken  string `json:"NextToken,omitempty"`
	}
	in := input{JobName: name, MaxResults: 100}
	all := []recommend.JobStep{}
	for range maxPages {
		var out output[json.RawMessage]
		if err := c.call(ctx, "ListInferenceRecommendationsJobSteps", in, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Steps...)
		if out.NextToken == "" {
			return all, nil
		}
		if out.NextToken == in.NextToken {
			return nil, fmt.Errorf("ListInferenceRecommendationsJobSteps: the server repeated NextToken %q", in.NextToken)
		}
		in.NextToken = out.NextToken
	}
	return nil, fmt.Errorf("ListInferenceRecommendationsJobSteps: more than %d pages", maxPages)
}

// printJob prints a job's status and its ranked recommendations.
func printJob(w io.Writer, d recommend.JobDescription) {
	fmt.Fprintf(w, "Job %s (%s): %s\n", d.JobName, d.JobType, d.Status)
	if d.JobDescription != "" {
		fmt.Fprintf(w, "  %s\n", oneLine(d.JobDescription))
	}
	fmt.Fprintf(w, "  created %s, last modified %s", clock(d.CreationTime.Time), clock(d.LastModifiedTime.Time))
	if d.CompletionTime != nil {
		fmt.Fprintf(w, ", completed %s", clock(d.CompletionTime.Time))
	}
	fmt.Fprintln(w)
	if d.FailureReason != "" {
		fmt.Fprintf(w, "  FailureReason: %s\n", oneLine(d.FailureReason))
	}
	fmt.Fprintln(w)
	switch {
	case len(d.InferenceRecommendations) > 0:
		printRecommendations(w, d.InferenceRecommendations, latencyPercentile(d.StoppingConditions))
	case d.Status == recommend.StatusCompleted:
		fmt.Fprintln(w, "No recommendations: no benchmark completed.")
	}
}

// printSteps prints the benchmark steps.
func printSteps(w io.Writer, steps []recommend.JobStep) {
	if len(steps) == 0 {
		fmt.Fprintln(w, "No steps.")
		return
	}
	fmt.Fprintln(w, "Steps:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tINSTANCE TYPE\tENVIRONMENT\tFAILURE REASON")
	for i, s := range steps {
		typ, env, reason := "-", "", ""
		if b := s.InferenceBenchmark; b != nil {
			if b.EndpointConfiguration != nil {
				typ = b.EndpointConfiguration.InstanceType
			}
			env = envString(b.ModelConfiguration.EnvironmentParameters)
			reason = oneLine(b.FailureReason)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, s.Status, typ, env, reason)
	}
	tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
