package main

// `inferscale simulate` replays a traffic trace against scaling policies,
// with the capacity per instance a recommendation job measured, and reports
// capacity over time, instance-hours and the minutes over the latency
// threshold, with an SVG plot: policies compared before one is applied.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inferscale/inferscale/internal/autoscale"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/recommend"
	"github.com/inferscale/inferscale/internal/simulate"
)

func init() {
	register(command{
		name:    "simulate",
		summary: "replay a traffic trace against scaling policies and report capacity, instance-hours and minutes over the latency threshold",
		run:     runSimulate,
	})
}

// fileList is a repeatable flag of file names.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func runSimulate(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "simulate", "--trace FILE [--resource-id ID] [--policy FILE...] (--job NAME | --max-invocations N) [flags]")
	var f clientFlags
	f.register(fs, cio)
	trace := fs.String("trace", "", "CSV of invocations per minute: VALUE or TIME,VALUE lines (TIME a minute number or RFC 3339); required")
	var policies, alarms fileList
	fs.Var(&policies, "policy", "JSON `FILE` of a scaling policy as PutScalingPolicy takes it (PolicyName, PolicyType, ...Configuration); repeatable")
	fs.Var(&alarms, "alarm", "JSON `FILE` of a CloudWatch alarm as PutMetricAlarm takes it, whose AlarmActions name a step policy; repeatable")
	resource := fs.String("resource-id", "", "the variant simulated (endpoint/E/variant/V); without --policy, its scalable target's bounds and policies are read from the server")
	minCap := fs.Int("min", 0, "minimum capacity (default: the target's, else 1)")
	maxCap := fs.Int("max", 0, "maximum capacity (default: the target's, else 10)")
	initial := fs.Int("initial", 0, "instances when the trace starts (default: the minimum)")
	job := fs.String("job", "", "take the instance's capacity from this recommendation job on the server")
	recID := fs.String("recommendation-id", "", "with --job: the recommendation to use (default: the job's best)")
	maxInv := fs.Float64("max-invocations", 0, "invocations per minute one instance serves within the latency threshold")
	latency := fs.Duration("model-latency", 0, "model latency at that load (default 10ms without --job)")
	cpu := fs.Float64("cpu-utilization", 0, "CPU utilization at that load, percent (default 80 without --job)")
	setup := fs.Duration("setup-time", 0, "time from launch to serving (default: the job's ModelSetupTime, else 60s)")
	price := fs.Float64("cost-per-hour", 0, "price of one instance for an hour, for the cost of the instance-hours (default: the job's CostPerHour per instance)")
	plot := fs.String("plot", "", "write an SVG plot of traffic and capacity to `FILE`")
	start := fs.String("start", "", "start time of a trace without timestamps, RFC 3339 (default: today 00:00 UTC)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := f.check(cio); err != nil {
		return err
	}
	setFlags := setFlags(fs)
	switch {
	case *minCap < 0 || *maxCap < 0 || *initial < 0:
		return fmt.Errorf("%w: --min, --max and --initial must not be negative", errUsage)
	case setFlags["max"] && *maxCap < autoscale.MinVariantCapacity || setFlags["min"] && *minCap < autoscale.MinVariantCapacity:
		return fmt.Errorf("%w: --min and --max must be at least %d: a production variant keeps at least one instance", errUsage, autoscale.MinVariantCapacity)
	case setFlags["min"] && setFlags["max"] && *minCap > *maxCap:
		return fmt.Errorf("%w: --min %d is above --max %d", errUsage, *minCap, *maxCap)
	case *latency < 0 || *setup < 0:
		return fmt.Errorf("%w: --model-latency and --setup-time must not be negative", errUsage)
	case *cpu < 0:
		return fmt.Errorf("%w: --cpu-utilization must not be negative", errUsage)
	case !(*price >= 0) || math.IsInf(*price, 0):
		return fmt.Errorf("%w: --cost-per-hour must be a price, 0 or more", errUsage)
	case setFlags["max-invocations"] && !(*maxInv > 0):
		return fmt.Errorf("%w: --max-invocations must be positive", errUsage)
	case *trace == "":
		return fmt.Errorf("%w: --trace is required", errUsage)
	case len(policies) == 0 && *resource == "":
		// Policies come from files or from the server's target.
		return fmt.Errorf("%w: give --policy FILE or --resource-id ID", errUsage)
	case *job == "" && *maxInv <= 0:
		return fmt.Errorf("%w: give --job NAME or --max-invocations N (> 0)", errUsage)
	}

	cfg := simulate.Config{Min: 1, Max: 10, Instance: simulate.Instance{
		MaxInvocations: *maxInv, ModelLatency: 10 * time.Millisecond, CPUUtilization: 80, SetupTime: time.Minute,
	}}
	t0 := time.Now().UTC().Truncate(24 * time.Hour)
	if *start != "" {
		ts, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			return fmt.Errorf("%w: --start %q: want RFC 3339", errUsage, *start)
		}
		t0 = ts
	}
	// The files of the command line are checked as recommend checks its
	// request files: one that does not do is a usage error (exit 2).
	tf, err := os.Open(*trace)
	if err != nil {
		return fmt.Errorf("%w: open trace: %w", errUsage, err)
	}
	cfg.Trace, err = simulate.ReadTrace(tf, t0)
	tf.Close()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errUsage, *trace, err)
	}
	cfg.Variant = autoscale.Variant{Endpoint: "simulated", Variant: "AllTraffic"}

	if *resource != "" {
		v, ok := autoscale.ParseResourceID(*resource)
		if !ok {
			return fmt.Errorf("%w: --resource-id %q: want endpoint/ENDPOINT/variant/VARIANT", errUsage, *resource)
		}
		cfg.Variant = v
	}
	var client *apiClient
	fromServer := len(policies) == 0
	if fromServer || *job != "" {
		if client, err = newAPIClient(ctx, f); err != nil {
			return err
		}
	}
	if fromServer {
		if err := loadTarget(ctx, client, *resource, &cfg); err != nil {
			return err
		}
	}
	for _, name := range policies {
		var p autoscale.ScalingPolicy
		if err := readJSONFile(name, &p); err != nil {
			return err
		}
		cfg.Policies = append(cfg.Policies, p)
	}
	for _, name := range alarms {
		var a alarmFile
		if err := readJSONFile(name, &a); err != nil {
			return err
		}
		cfg.Alarms = append(cfg.Alarms, a.AlarmSpec)
	}
	if *job != "" {
		if err := loadRecommendation(ctx, client, *job, *recID, &cfg.Instance); err != nil {
			return err
		}
	}
	if setFlags["max-invocations"] {
		cfg.Instance.MaxInvocations = *maxInv
	}
	if setFlags["model-latency"] {
		cfg.Instance.ModelLatency = *latency
	}
	if setFlags["cpu-utilization"] {
		cfg.Instance.CPUUtilization = *cpu
	}
	if setFlags["setup-time"] {
		cfg.Instance.SetupTime = *setup
	}
	if setFlags["cost-per-hour"] {
		cfg.Instance.CostPerHour = *price
	}
	if setFlags["min"] {
		cfg.Min = *minCap
	}
	if setFlags["max"] {
		cfg.Max = *maxCap
	}
	cfg.Initial = cfg.Min
	if setFlags["initial"] {
		cfg.Initial = *initial
	}

	res, err := simulate.Run(cfg)
	var invalid *simulate.InvalidError
	if errors.As(err, &invalid) {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(cio.stderr, "inferscale simulate: warning: %s\n", w)
	}
	if *plot != "" {
		out, err := os.Create(*plot)
		if err != nil {
			return fmt.Errorf("write plot: %w", err)
		}
		names := make([]string, len(cfg.Policies))
		for i, p := range cfg.Policies {
			names[i] = p.PolicyName
		}
		title := fmt.Sprintf("%s: policy %s, %.0f invocations/min per instance", cfg.Variant.ResourceID(), strings.Join(names, " + "), cfg.Instance.MaxInvocations)
		err = simulate.WriteSVG(out, title, res)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write plot %s: %w", *plot, err)
		}
	}
	if f.output == "json" {
		return writeJSON(cio.stdout, res)
	}
	printSimulation(cio.stdout, cfg, res)
	if *plot != "" {
		fmt.Fprintf(cio.stdout, "\nplot: %s\n", *plot)
	}
	return nil
}

// readJSONFile decodes a --policy or --alarm file; any error is a usage
// error.
func readJSONFile(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %w", errUsage, name, err)
	}
	return nil
}

// alarmFile is an --alarm file: PutMetricAlarm's input, as
// `aws cloudwatch put-metric-alarm --generate-cli-skeleton` writes it. Its
// tags change nothing in a simulation.
type alarmFile struct {
	cloudwatch.AlarmSpec
	Tags []struct {
		Key   string `json:"Key"`
		Value string `json:"Value"`
	} `json:"Tags"`
}

// loadTarget reads a scalable target's bounds, suspended state and
// policies, and the alarms of its step policies, from the server.
func loadTarget(ctx context.Context, c *apiClient, resource string, cfg *simulate.Config) error {
	var targets struct {
		ScalableTargets []autoscale.ScalableTarget `json:"ScalableTargets"`
	}
	in := map[string]any{"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount", "ResourceIds": []string{resource}}
	if err := c.callService(ctx, autoscalingAPI, "DescribeScalableTargets", in, &targets); err != nil {
		return err
	}
	if len(targets.ScalableTargets) == 0 {
		return fmt.Errorf("no scalable target %s: register it first (aws application-autoscaling register-scalable-target)", resource)
	}
	t := targets.ScalableTargets[0]
	cfg.Min, cfg.Max = int(t.MinCapacity), int(t.MaxCapacity)
	cfg.Suspended = t.SuspendedState
	var pols struct {
		ScalingPolicies []autoscale.ScalingPolicy `json:"ScalingPolicies"`
	}
	in = map[string]any{"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount", "ResourceId": resource}
	if err := c.callService(ctx, autoscalingAPI, "DescribeScalingPolicies", in, &pols); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range pols.ScalingPolicies {
		cfg.Policies = append(cfg.Policies, p)
		if p.PolicyType != autoscale.PolicyStep {
			continue
		}
		// A step policy runs when the alarms naming its ARN fire.
		// ActionPrefix matches a prefix, and policy up's ARN is one of
		// policy up2's: only the alarms naming the ARN itself are the
		// policy's, and an alarm naming two policies is taken once (it runs
		// both).
		alarms, err := describeAlarms(ctx, c, p.PolicyARN)
		if err != nil {
			return err
		}
		for _, a := range alarms {
			if slices.Contains(a.AlarmActions, p.PolicyARN) && !seen[a.AlarmName] {
				seen[a.AlarmName] = true
				cfg.Alarms = append(cfg.Alarms, a)
			}
		}
	}
	return nil
}

// describeAlarms returns the metric alarms whose actions start with
// prefix, all pages.
func describeAlarms(ctx context.Context, c *apiClient, prefix string) ([]cloudwatch.AlarmSpec, error) {
	var all []cloudwatch.AlarmSpec
	in := map[string]any{"ActionPrefix": prefix, "AlarmTypes": []string{"MetricAlarm"}}
	for {
		var page struct {
			MetricAlarms []cloudwatch.AlarmSpec `json:"MetricAlarms"`
			NextToken    string                 `json:"NextToken"`
		}
		if err := c.callService(ctx, cloudwatchAPI, "DescribeAlarms", in, &page); err != nil {
			return nil, err
		}
		all = append(all, page.MetricAlarms...)
		if page.NextToken == "" {
			return all, nil
		}
		in["NextToken"] = page.NextToken
	}
}

// loadRecommendation takes an instance's capacity from a recommendation.
func loadRecommendation(ctx context.Context, c *apiClient, job, id string, inst *simulate.Instance) error {
	var desc recommend.JobDescription
	if err := c.call(ctx, "DescribeInferenceRecommendationsJob", map[string]string{"JobName": job}, &desc); err != nil {
		return err
	}
	if len(desc.InferenceRecommendations) == 0 {
		return fmt.Errorf("job %s has no recommendations (status %s)", job, desc.Status)
	}
	r := desc.InferenceRecommendations[0]
	if id != "" {
		found := false
		for _, x := range desc.InferenceRecommendations {
			if x.RecommendationId == id {
				r, found = x, true
			}
		}
		if !found {
			return fmt.Errorf("job %s has no recommendation %s", job, id)
		}
	}
	m := r.Metrics
	if m.MaxInvocations <= 0 {
		return fmt.Errorf("recommendation %s of job %s has no MaxInvocations", r.RecommendationId, job)
	}
	inst.MaxInvocations = float64(m.MaxInvocations)
	inst.ModelLatency = time.Duration(m.ModelLatency) * time.Microsecond
	if m.CpuUtilization != nil {
		inst.CPUUtilization = *m.CpuUtilization
	}
	if m.ModelSetupTime != nil {
		inst.SetupTime = time.Duration(*m.ModelSetupTime) * time.Second
	}
	if m.CostPerHour != nil {
		inst.CostPerHour = *m.CostPerHour / float64(max(r.EndpointConfiguration.InitialInstanceCount, 1))
	}
	return nil
}

func printSimulation(w io.Writer, cfg simulate.Config, r *simulate.Result) {
	fmt.Fprintf(w, "%s over %s from %s: capacity %d..%d, %.0f invocations/min per instance, setup %s\n",
		cfg.Variant.ResourceID(), r.Duration(), r.Start.UTC().Format(time.RFC3339), cfg.Min, cfg.Max, cfg.Instance.MaxInvocations, cfg.Instance.SetupTime)
	fmt.Fprintf(w, "%s\n\n", r.Summary())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tFROM\tTO\tPOLICY\tALARM")
	for _, a := range r.Activities {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", a.Time.UTC().Format("2006-01-02 15:04:05"), a.From, a.To, a.Policy, a.Alarm)
	}
	tw.Flush()
}
