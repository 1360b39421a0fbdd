package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/inferscale/inferscale/internal/backend/local"
	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/loadgen"
	"github.com/inferscale/inferscale/internal/modelserver"
	"github.com/inferscale/inferscale/internal/payload"
	"github.com/inferscale/inferscale/internal/recommend"
)

func init() {
	register(command{
		name:    "recommend",
		summary: "load-test a model server on instance types and rank them",
		run:     runRecommend,
	})
}

// recommendFlags are the flags shared by recommend and demo.
type recommendFlags struct {
	cliInput      string
	jobName       string
	jobType       string
	modelURL      string
	modelCommand  string
	modelEnv      multiFlag
	sampleModel   string
	payloads      multiFlag
	contentType   string
	instanceTypes string
	threshold     string
	catalogs      multiFlag
	region        string
	goals         string
	output        string
	maxParallel   int
	warmup        time.Duration
	level         time.Duration
	confirm       time.Duration
	scaling       bool
	targetCPU     int
	verbose       bool

	set            map[string]bool // the flags given on the command line
	defaultJobName string          // the job's name when neither the file nor --job-name gives one
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (f *recommendFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cliInput, "cli-input-json", "", "read the CreateInferenceRecommendationsJob request from `FILE` (its values win; flags below fill what it leaves out, and one that disagrees with it is an error)")
	fs.StringVar(&f.jobName, "job-name", "", "job name (default inferscale-<time>)")
	fs.StringVar(&f.jobType, "job-type", "", "Default or Advanced (Advanced needs a TrafficPattern from --cli-input-json)")
	fs.StringVar(&f.modelURL, "model-url", "", "benchmark an already-running server at `URL` (its /ping and /invocations)")
	fs.StringVar(&f.modelCommand, "model-command", "", "model server executable, started with 'serve' once per instance")
	fs.Var(&f.modelEnv, "model-env", "`KEY=VALUE` for the model server's environment (repeatable)")
	fs.StringVar(&f.sampleModel, "sample-model", "mlp", "built-in sample model when no model is named: mlp or reference")
	fs.Var(&f.payloads, "payload", "sample payload `FILE` or directory of files (repeatable)")
	fs.StringVar(&f.contentType, "content-type", "", "content type of the payloads (default: from the file extension)")
	fs.StringVar(&f.instanceTypes, "instance-types", "", "comma-separated instance types (default: three priced types this host can run)")
	fs.StringVar(&f.threshold, "latency-threshold", "", "latency limit, e.g. P95=100ms or P99=250ms")
	fs.Var(&f.catalogs, "catalog", "instance-type catalog `FILE` with your own types or prices (repeatable)")
	fs.StringVar(&f.region, "region", recommend.DefaultRegion, "region whose prices apply")
	fs.StringVar(&f.goals, "goals", "", "rank by deployment goals, importance 0-5 each, e.g. cost=5,latency=3,throughput=1 (default: cost per inference)")
	fs.StringVar(&f.output, "output", "text", "text or json (the DescribeInferenceRecommendationsJob response)")
	fs.IntVar(&f.maxParallel, "max-parallel", 0, "benchmarks at once where the host has room (ResourceLimit.MaxParallelOfTests)")
	fs.DurationVar(&f.warmup, "warmup", 0, "warm-up before measuring (default 2s)")
	fs.DurationVar(&f.level, "level-duration", 0, "length of each load level of a Default job (default 4s)")
	fs.DurationVar(&f.confirm, "confirm-duration", 0, "length of the open-loop confirmation (default 6s)")
	fs.BoolVar(&f.scaling, "scaling", false, "also print the scaling configuration for the top recommendation")
	fs.IntVar(&f.targetCPU, "target-cpu-per-core", recommend.DefaultTargetCPUPerCore, "scaling: TargetCpuUtilizationPerCore")
	fs.BoolVar(&f.verbose, "v", false, "verbose logs")
}

// check rejects flag values that no job can run with, before any
// benchmark starts.
func (f *recommendFlags) check() error {
	switch {
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("%w: --output must be text or json, got %q", errUsage, f.output)
	case f.targetCPU < 1 || f.targetCPU > 100:
		return fmt.Errorf("%w: --target-cpu-per-core must be between 1 and 100, got %d", errUsage, f.targetCPU)
	case f.set["max-parallel"] && f.maxParallel < 1:
		return fmt.Errorf("%w: --max-parallel must be at least 1, got %d", errUsage, f.maxParallel)
	}
	return checkTuning(f.set, f.warmup, f.level, f.confirm)
}

// checkTuning checks --warmup, --level-duration and --confirm-duration:
// positive when given (0 would mean the default).
func checkTuning(set map[string]bool, warmup, level, confirm time.Duration) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"warmup", warmup}, {"level-duration", level}, {"confirm-duration", confirm}} {
		if set[d.name] && d.v <= 0 {
			return fmt.Errorf("%w: --%s must be positive, got %s", errUsage, d.name, d.v)
		}
	}
	return nil
}

func runRecommend(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "recommend", "[flags]")
	var f recommendFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	f.set = setFlags(fs)
	return recommendMain(ctx, cio, f)
}

// recommendMain runs a job in-process and prints its result.
func recommendMain(ctx context.Context, cio cmdIO, f recommendFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	cat, err := catalog.Load(f.catalogs...)
	if err != nil {
		return err
	}
	goals, err := parseGoals(f.goals)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	in, err := jobInput(&f, cat)
	if err != nil {
		return err
	}
	model, err := modelFor(f)
	if err != nil {
		return err
	}

	logger := newLogger(cio.stderr, f.verbose)
	be, err := local.New(logger)
	if err != nil {
		return fmt.Errorf("start local backend: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		be.Close(closeCtx)
	}()
	runner := &recommend.Runner{
		Backend: be,
		Catalog: cat,
		Region:  f.region,
		Logger:  logger,
		Tuning:  recommend.Tuning{Warmup: f.warmup, Level: f.level, Confirm: f.confirm},
	}
	prog := newProgress(cio.stderr)
	rep, err := runner.Run(ctx, recommend.Job{Input: in, Model: model}, prog.update, prog.stepDone)
	prog.close()
	if err != nil {
		return err
	}
	desc := recommend.Describe(in, rep, f.region, defaultAccount, goals)

	var scaling *recommend.ScalingRecommendation
	var scalingErr error
	if f.scaling && len(desc.InferenceRecommendations) > 0 {
		s, err := scalingFor(rep, desc, cat, f)
		scaling, scalingErr = &s, err
	}
	if f.output == "json" {
		if scalingErr != nil {
			scaling = nil
		}
		if err := writeJSON(cio.stdout, jsonReport(desc, scaling)); err != nil {
			return err
		}
	} else {
		printReport(cio.stdout, in, rep, desc, cat, f.region)
		if scaling != nil && scalingErr == nil {
			printScaling(cio.stdout, *scaling)
		}
	}
	if scalingErr != nil {
		return fmt.Errorf("scaling configuration: %w", scalingErr)
	}
	if rep.Status != recommend.StatusCompleted {
		return fmt.Errorf("job %s: %s", strings.ToLower(rep.Status), oneLine(rep.FailureReason))
	}
	return nil
}

// jsonReport is what recommend --output json prints: the
// DescribeInferenceRecommendationsJob response without the RoleArn no role
// was given for, and the scaling configuration when asked for.
func jsonReport(desc recommend.JobDescription, scaling *recommend.ScalingRecommendation) any {
	return struct {
		recommend.JobDescription
		RoleArn              string                           `json:"RoleArn,omitempty"` // shadows the embedded one
		ScalingConfiguration *recommend.ScalingRecommendation `json:"ScalingConfiguration,omitempty"`
	}{desc, desc.RoleArn, scaling}
}

const defaultAccount = "123456789012"

// parseThreshold parses "P95=100ms".
func parseThreshold(s string) (recommend.ModelLatencyThreshold, error) {
	p, v, ok := strings.Cut(s, "=")
	if !ok {
		return recommend.ModelLatencyThreshold{}, fmt.Errorf("%q: want PERCENTILE=DURATION, e.g. P95=100ms", s)
	}
	p = strings.ToUpper(strings.TrimSpace(p))
	if p != "P95" && p != "P99" && p != "P90" && p != "P50" {
		return recommend.ModelLatencyThreshold{}, fmt.Errorf("%q: percentile must be P50, P90, P95 or P99", s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return recommend.ModelLatencyThreshold{}, fmt.Errorf("%q: %v", s, err)
	}
	if d < time.Millisecond || d%time.Millisecond != 0 {
		return recommend.ModelLatencyThreshold{}, fmt.Errorf("%q: the latency must be a whole number of milliseconds, at least 1ms", s)
	}
	return recommend.ModelLatencyThreshold{Percentile: p, ValueInMilliseconds: int(d / time.Millisecond)}, nil
}

// parseGoals parses "cost=5,latency=3".
func parseGoals(s string) (recommend.Goals, error) {
	var g recommend.Goals
	if s == "" {
		return g, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 0 || n > 5 {
			return g, fmt.Errorf("--goals: %q must be NAME=0..5", kv)
		}
		switch strings.TrimSpace(k) {
		case "cost":
			g.Cost = n
		case "latency":
			g.Latency = n
		case "throughput":
			g.Throughput = n
		default:
			return g, fmt.Errorf("--goals: unknown goal %q (cost, latency, throughput)", k)
		}
	}
	return g, nil
}

// modelFor resolves what to benchmark: a URL, a command, or the built-in
// sample model server (this executable, "model-server serve").
func modelFor(f recommendFlags) (recommend.Model, error) {
	var m recommend.Model
	for _, kv := range f.modelEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return m, fmt.Errorf("%w: --model-env %q: want KEY=VALUE", errUsage, kv)
		}
	}
	payloads, err := readPayloads(f.payloads, f.contentType)
	if err != nil {
		return m, err
	}
	m.Payloads = payloads
	switch {
	case f.modelURL != "" && f.modelCommand != "":
		return m, fmt.Errorf("%w: give --model-url or --model-command, not both", errUsage)
	case f.modelURL != "":
		if !strings.HasPrefix(f.modelURL, "http://") && !strings.HasPrefix(f.modelURL, "https://") {
			return m, fmt.Errorf("%w: --model-url %q must be an http:// or https:// URL", errUsage, f.modelURL)
		}
		m.URL = strings.TrimSuffix(f.modelURL, "/")
	case f.modelCommand != "":
		path, err := filepath.Abs(f.modelCommand)
		if err != nil {
			return m, err
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return m, fmt.Errorf("--model-command %s: not an executable file", f.modelCommand)
		}
		m.Command = path
		m.Env = f.modelEnv
	default:
		self, err := os.Executable()
		if err != nil {
			return m, fmt.Errorf("find the sample model server: %w", err)
		}
		env := map[string]string{modelserver.EnvModel: f.sampleModel}
		for _, kv := range f.modelEnv {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		cfg, err := modelserver.ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			return m, fmt.Errorf("%w: sample model: %v", errUsage, err)
		}
		m.Command, m.Args = self, []string{"model-server", "serve"}
		m.Env = append(cfg.Env(), f.modelEnv...)
		if len(m.Payloads) == 0 {
			for _, p := range modelserver.SamplePayloads(cfg, 8) {
				m.Payloads = append(m.Payloads, loadgen.Payload{Body: p.Body, ContentType: p.ContentType})
			}
		}
	}
	if len(m.Payloads) == 0 {
		return m, fmt.Errorf("%w: no sample payload: give --payload FILE (repeatable) with the model's input", errUsage)
	}
	return m, nil
}

// readPayloads reads each --payload: a file, a directory of files or a
// tar(.gz) archive, as SageMaker's SamplePayloadUrl names them.
func readPayloads(paths []string, contentType string) ([]loadgen.Payload, error) {
	var out []loadgen.Payload
	for _, p := range paths {
		ps, err := payload.Read(p, contentType)
		if err != nil {
			return nil, fmt.Errorf("--payload %s: %w", p, err)
		}
		out = append(out, ps...)
	}
	return out, nil
}

// scalingFor computes the scaling configuration of the top recommendation.
func scalingFor(rep *recommend.Report, desc recommend.JobDescription, cat *catalog.Catalog, f recommendFlags) (recommend.ScalingRecommendation, error) {
	top := desc.InferenceRecommendations[0]
	for _, s := range rep.Steps {
		if recommend.RecommendationID(desc.JobName, s) != top.RecommendationId {
			continue
		}
		t, err := cat.Lookup(s.InstanceType)
		if err != nil {
			return recommend.ScalingRecommendation{}, err
		}
		return recommend.Scaling(s.Curve(t.VCPUs), recommend.ScalingRequest{
			InferenceRecommendationsJobName: desc.JobName,
			RecommendationId:                top.RecommendationId,
			TargetCpuUtilizationPerCore:     f.targetCPU,
		})
	}
	return recommend.ScalingRecommendation{}, errors.New("the top recommendation has no step")
}

// printReport prints the ranked recommendations and what went wrong.
func printReport(w io.Writer, in recommend.JobInput, rep *recommend.Report, desc recommend.JobDescription, cat *catalog.Catalog, region string) {
	fmt.Fprintf(w, "Job %s (%s): %s in %s\n\n", in.JobName, in.JobType, rep.Status, rep.End.Sub(rep.Start).Round(time.Second))
	byID := map[string]recommend.StepResult{}
	for _, s := range rep.Steps {
		byID[recommend.RecommendationID(in.JobName, s)] = s
	}
	printRecommendations(w, desc.InferenceRecommendations, latencyPercentile(in.StoppingConditions))
	var notes []string
	steps := append([]recommend.StepResult(nil), rep.Steps...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Index < steps[j].Index })
	for _, s := range steps {
		label := s.Plan.Label()
		if label == "" {
			label = s.InstanceType
		}
		if s.Status != recommend.StatusCompleted {
			notes = append(notes, fmt.Sprintf("%s: %s: %s", label, strings.ToLower(s.Status), oneLine(s.FailureReason)))
			continue
		}
		if s.Verdict != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", label, s.Verdict))
		}
		if s.NoPrice != "" {
			notes = append(notes, fmt.Sprintf("%s: no cost figures: %s", label, s.NoPrice))
		}
		for _, warn := range s.Warnings {
			notes = append(notes, fmt.Sprintf("%s: warning: %s", label, warn))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "Notes:")
		for _, n := range notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
		fmt.Fprintln(w)
	}
}

// latencyPercentile is the percentile ModelLatency is read at: the first
// latency threshold's, else P50.
func latencyPercentile(sc *recommend.StoppingConditions) string {
	if sc != nil && len(sc.ModelLatencyThresholds) > 0 {
		return strings.ToUpper(sc.ModelLatencyThresholds[0].Percentile)
	}
	return "P50"
}

// printRecommendations prints ranked recommendations as a table followed
// by a blank line; nothing when there are none. q names the latency
// percentile in the header.
func printRecommendations(w io.Writer, recs []recommend.Recommendation, q string) {
	if len(recs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "RANK\tINSTANCE TYPE\tCOUNT\tMAX INV/MIN\tLATENCY %s ms\tCPU %%\tMEM %%\tSETUP s\t$/HOUR\t$/1M INF\tENVIRONMENT\n", q)
	for i, r := range recs {
		m := r.Metrics
		if m == nil {
			m = &recommend.Metrics{}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\n",
			i+1, r.EndpointConfiguration.InstanceType, r.EndpointConfiguration.InitialInstanceCount,
			m.MaxInvocations, float64(m.ModelLatency)/1000,
			optFloat(m.CpuUtilization, "%.1f"), optFloat(m.MemoryUtilization, "%.2f"), optInt(m.ModelSetupTime),
			optFloat(m.CostPerHour, "%.4f"), optScaled(m.CostPerInference, 1e6, "%.4f"), envString(r.ModelConfiguration.EnvironmentParameters))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// envString is environment parameters as KEY=VALUE separated by spaces.
func envString(env []recommend.EnvironmentParameter) string {
	kv := make([]string, len(env))
	for i, e := range env {
		kv[i] = e.Key + "=" + e.Value
	}
	return strings.Join(kv, " ")
}

func printScaling(w io.Writer, s recommend.ScalingRecommendation) {
	d := s.DynamicScalingConfiguration
	fmt.Fprintf(w, "Scaling configuration for %s (TargetCpuUtilizationPerCore %d):\n", s.RecommendationId, s.TargetCpuUtilizationPerCore)
	fmt.Fprintf(w, "  target tracking  SageMakerVariantInvocationsPerInstance = %d per minute (model latency there %.2f ms)\n",
		s.Metric.InvocationsPerInstance, float64(s.Metric.ModelLatency)/1000)
	fmt.Fprintf(w, "  capacity         min %d, max %d\n", d.MinCapacity, d.MaxCapacity)
	fmt.Fprintf(w, "  cooldowns        scale-out %d s, scale-in %d s\n\n", d.ScaleOutCooldown, d.ScaleInCooldown)
}

func optFloat(v *float64, format string) string {
	if v == nil || math.IsNaN(*v) {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

func optScaled(v *float64, scale float64, format string) string {
	if v == nil {
		return "-"
	}
	x := *v * scale
	return optFloat(&x, format)
}

func optInt(v *int) string {
	if v == nil {
		return "-"
	}
	return strconv.Itoa(*v)
}

// progress shows live readings on a terminal, one rewritten line, and
// each load stage's result as the step judges it.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	pending bool // tty: a live line is shown
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) update(pr recommend.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	load := ""
	switch {
	case pr.Users > 0:
		load = fmt.Sprintf("%d users", pr.Users)
	case pr.Rate > 0:
		load = fmt.Sprintf("%.0f req/s offered", pr.Rate)
	}
	line := fmt.Sprintf("[%d/%d] %-28s %-8s %-18s", pr.Step, pr.Steps, pr.Label, pr.Stage, load)
	if pr.Second > 0 || pr.Done {
		line += fmt.Sprintf(" %8.1f req/s  p95 %7.2f ms", pr.Throughput, float64(pr.P95)/float64(time.Millisecond))
	}
	// A terminal shows each second as it comes, over the last; a stage's
	// result (Done: the figures the step judges) stays. Elsewhere only
	// results are printed, besides launches and the warm-up's first
	// second, so that a log holds the numbers the decisions were made on.
	switch {
	case pr.Done:
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
			p.pending = false
		}
		fmt.Fprintln(p.w, line)
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.pending = true
	case pr.Stage == "launch" || pr.Stage == "warmup" && pr.Second == 1:
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) stepDone(s recommend.StepResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		fmt.Fprint(p.w, "\r\033[K")
		p.pending = false
	}
	msg := strings.ToLower(s.Status)
	if s.Metrics != nil {
		msg += fmt.Sprintf(": %d invocations/min, %.2f ms", s.Metrics.MaxInvocations, float64(s.Metrics.ModelLatency)/1000)
	}
	if s.FailureReason != "" {
		msg += ": " + oneLine(s.FailureReason)
	}
	fmt.Fprintf(p.w, "step %d %s: %s\n", s.Index+1, s.Plan.Label(), msg)
}

func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
