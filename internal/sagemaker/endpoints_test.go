package sagemaker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"

	"github.com/inferscale/inferscale/internal/api"
	isclock "github.com/inferscale/inferscale/internal/clock"
	iscw "github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/metrics"
	sm "github.com/inferscale/inferscale/internal/sagemaker"
	"github.com/inferscale/inferscale/internal/server"
	"github.com/inferscale/inferscale/internal/store"
)

// hostEnv is `inferscale serve` running (Serve, so that endpoints run) on
// loopback, with SageMaker and SageMaker Runtime clients.
type hostEnv struct {
	t    testing.TB
	ctx  context.Context
	dir  string
	opts hosting.Options
	// clock, if set, is the server's clock (server.Config.Clock).
	clock isclock.Clock
	// quota, if set, is the instance quota (HostingOptions.InstanceQuota).
	quota int
	srv   *server.Server
	url   string
	sm    *sagemaker.Client
	rt    *sagemakerruntime.Client
	stop  func()
}

// newHostEnv starts the server; edits, if any, change the endpoints'
// options.
func newHostEnv(t testing.TB, edits ...func(*hosting.Options)) *hostEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	e := &hostEnv{t: t, ctx: ctx, dir: t.TempDir(), opts: hosting.Options{HealthInterval: 200 * time.Millisecond, LaunchBackoff: 100 * time.Millisecond}}
	for _, edit := range edits {
		edit(&e.opts)
	}
	e.start()
	t.Cleanup(func() { e.stop() })
	return e
}

func (e *hostEnv) start() {
	e.t.Helper()
	e.srv, e.url, e.stop = serveTest(e.t, e.ctx, server.Config{
		DataDir: e.dir, CheckOutput: true, Version: "test",
		Jobs:    sm.JobOptions{SampleModelCommand: []string{inferscaleBinary(e.t), "model-server"}},
		Hosting: sm.HostingOptions{Endpoint: e.opts, InstanceQuota: e.quota},
		Clock:   e.clock,
	})
	cfg := e.awsConfig()
	e.sm = sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(e.url) })
	e.rt = sagemakerruntime.NewFromConfig(cfg, func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(e.url) })
}

// awsConfig is the SDK configuration of the clients: any credentials, no
// retries.
func (e *hostEnv) awsConfig() aws.Config {
	return aws.Config{
		Region: region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDHOST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// metrics returns the metrics of the clients' account and region.
func (e *hostEnv) metrics() *metrics.View {
	return e.srv.Metrics.In(iscw.MetricsScope(api.DefaultAccount, region))
}

func (e *hostEnv) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// waitInService waits with the SDK's own waiter, as `aws sagemaker wait
// endpoint-in-service` does.
func (e *hostEnv) waitInService(name string) {
	e.t.Helper()
	w := sagemaker.NewEndpointInServiceWaiter(e.sm, func(o *sagemaker.EndpointInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(e.ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)}, 30*time.Second); err != nil {
		out, derr := e.sm.DescribeEndpoint(e.ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if derr == nil {
			e.t.Fatalf("endpoint %s not in service: %v (status %s: %s)", name, err, out.EndpointStatus, aws.ToString(out.FailureReason))
		}
		e.t.Fatalf("endpoint %s not in service: %v", name, err)
	}
}

func (e *hostEnv) createModel(name string, env map[string]string) {
	e.t.Helper()
	_, err := e.sm.CreateModel(e.ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String(name),
		ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(sm.SampleModelImage), Environment: env},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func variant(name, model string, count int32, weight float32) types.ProductionVariant {
	return types.ProductionVariant{
		VariantName: aws.String(name), ModelName: aws.String(model), InstanceType: types.ProductionVariantInstanceType("ml.c8g.medium"),
		InitialInstanceCount: aws.Int32(count), InitialVariantWeight: aws.Float32(weight),
	}
}

func TestEndpointConfigs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := e.ctx
	if _, err := e.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("m1"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(sm.SampleModelImage)},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		config   string
		variants []types.ProductionVariant
		code     string // "" for success
		msg      string
	}{
		{name: "two variants", config: "Cfg-A", variants: []types.ProductionVariant{variant("a", "m1", 1, 1), variant("b", "M1", 2, 3)}},
		{name: "again", config: "cfg-a", variants: []types.ProductionVariant{variant("a", "m1", 1, 1)},
			code: "ValidationException", msg: `Cannot create already existing endpoint configuration "` + arn("endpoint-config", "cfg-a") + `".`},
		{name: "missing model", config: "cfg-b", variants: []types.ProductionVariant{variant("a", "nope", 1, 1)},
			code: "ValidationException", msg: `Could not find model "` + arn("model", "nope") + `".`},
		{name: "unknown instance type", config: "cfg-c", variants: []types.ProductionVariant{{VariantName: aws.String("a"), ModelName: aws.String("m1"),
			InstanceType: "ml.nope.large", InitialInstanceCount: aws.Int32(1)}}, code: "ValidationException", msg: "1 validation error detected: Value 'ml.nope.large' at 'productionVariants.1.member.instanceType' failed to satisfy constraint: Member must satisfy enum value set..."},
		{name: "duplicate variant", config: "cfg-d", variants: []types.ProductionVariant{variant("a", "m1", 1, 1), variant("a", "m1", 1, 1)},
			code: "ValidationException", msg: "The variant name a is used by more than one production variant."},
		{name: "second", config: "cfg-e", variants: []types.ProductionVariant{{VariantName: aws.String("x"), ModelName: aws.String("m1"),
			InstanceType: "ml.c8g.medium", InitialInstanceCount: aws.Int32(1),
			RoutingConfig: &types.ProductionVariantRoutingConfig{RoutingStrategy: types.RoutingStrategyRandom}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(time.Second)
			out, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(tt.config), ProductionVariants: tt.variants})
			if tt.code != "" {
				wantErr(t, err, tt.code, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := aws.ToString(out.EndpointConfigArn), arn("endpoint-config", strings.ToLower(tt.config)); got != want {
				t.Errorf("ARN %s, want %s", got, want)
			}
		})
	}

	d, err := e.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("cfg-a")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.EndpointConfigName) != "Cfg-A" || len(d.ProductionVariants) != 2 ||
		aws.ToInt32(d.ProductionVariants[1].InitialInstanceCount) != 2 || aws.ToFloat32(d.ProductionVariants[1].InitialVariantWeight) != 3 {
		t.Errorf("described %+v", d)
	}
	// A variant without a weight has 1.
	if d, err := e.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("cfg-e")}); err != nil ||
		d.ProductionVariants[0].InitialVariantWeight == nil || *d.ProductionVariants[0].InitialVariantWeight != 1 {
		t.Errorf("cfg-e: %+v, %v: want InitialVariantWeight 1", d, err)
	}
	l, err := e.sm.ListEndpointConfigs(ctx, &sagemaker.ListEndpointConfigsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range l.EndpointConfigs {
		names = append(names, aws.ToString(c.EndpointConfigName))
	}
	if got := strings.Join(names, ","); got != "cfg-e,Cfg-A" { // newest first
		t.Errorf("listed %s", got)
	}
	if _, err := e.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: aws.String("cfg-a")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("cfg-a")})
	wantErr(t, err, "ValidationException", `Could not find endpoint configuration "`+arn("endpoint-config", "cfg-a")+`".`)
	_, err = e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg-a")})
	wantErr(t, err, "ValidationException", `Could not find endpoint configuration "`+arn("endpoint-config", "cfg-a")+`".`)
	_, err = e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ep")})
	wantErr(t, err, "ValidationException", `Could not find endpoint "`+arn("endpoint", "ep")+`".`)
}

// TestEndpointLifecycle deploys the reference model as two variants, sends
// traffic by weight and by TargetVariant, scales a variant, restarts the
// server (instances are relaunched) and deletes the endpoint (no model
// server is left).
func TestEndpointLifecycle(t *testing.T) {
	e := newHostEnv(t)
	ctx := e.ctx
	marker := fmt.Sprintf("endpoint-%d", time.Now().UnixNano())
	e.createModel("ref", map[string]string{
		"INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "1ms", "INFERSCALE_REFERENCE_SLOTS": "8",
		"INFERSCALE_TEST_MARKER": marker,
	})
	if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String("cfg"),
		ProductionVariants: []types.ProductionVariant{variant("blue", "ref", 1, 1), variant("green", "ref", 1, 1)},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("Ep-1"), EndpointConfigName: aws.String("cfg")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.EndpointArn), arn("endpoint", "ep-1"); got != want {
		t.Errorf("ARN %s, want %s", got, want)
	}
	_, err = e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep-1"), EndpointConfigName: aws.String("cfg")})
	wantErr(t, err, "ValidationException", `Cannot create already existing endpoint "`+arn("endpoint", "ep-1")+`".`)
	e.waitInService("Ep-1")
	wantVariants(t, e, "Ep-1", map[string]int32{"blue": 1, "green": 1})
	if ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker); len(ps) != 2 {
		t.Errorf("%d model servers run, want 2", len(ps))
	}

	// Traffic by weight reaches both variants; TargetVariant picks one.
	counts := invokeN(t, e, "Ep-1", "", 40)
	if counts["blue"] == 0 || counts["green"] == 0 || counts["blue"]+counts["green"] != 40 {
		t.Errorf("variants invoked %v, want both of 40", counts)
	}
	if counts := invokeN(t, e, "Ep-1", "green", 5); counts["green"] != 5 {
		t.Errorf("TargetVariant green: invoked %v", counts)
	}

	errTests := []struct {
		name, endpoint, target, targetModel, body, code, msg string
		edit                                                 func(*sagemakerruntime.InvokeEndpointInput)
	}{
		{name: "unknown endpoint", endpoint: "nope", body: `{"instances":[[1]]}`, code: "ValidationError", msg: "Endpoint nope of account " + account + " not found."},
		{name: "target model of a single-model endpoint", endpoint: "Ep-1", targetModel: "model-a.tar.gz", body: `{"instances":[[1]]}`,
			code: "ValidationError", msg: "Endpoint Ep-1 is not a multi-model endpoint and does not support target model header."},
		{name: "unknown variant", endpoint: "Ep-1", target: "red", body: `{"instances":[[1]]}`, code: "ValidationError", msg: "Endpoint Ep-1 does not have target variant red"},
		{name: "model rejects the payload", endpoint: "Ep-1", target: "green", body: `not json`, code: "ModelError", msg: "Received client error (4..."},
		{name: "name in another case", endpoint: "ep-1", body: `{"instances":[[1]]}`, code: "ValidationError", msg: "Endpoint ep-1 of account " + account + " not found."},
		{name: "inference component", endpoint: "Ep-1", body: `{"instances":[[1]]}`, code: "ValidationError",
			msg:  "InferenceComponentName: endpoint Ep-1 cannot take it: inference components are not supported by this server.",
			edit: func(in *sagemakerruntime.InvokeEndpointInput) { in.InferenceComponentName = aws.String("ic") }},
		{name: "target container", endpoint: "Ep-1", body: `{"instances":[[1]]}`, code: "ValidationError",
			msg:  "TargetContainerHostname: endpoint Ep-1 cannot take it: multi-container endpoints with direct invocation are not supported by this server.",
			edit: func(in *sagemakerruntime.InvokeEndpointInput) { in.TargetContainerHostname = aws.String("c1") }},
		{name: "session", endpoint: "Ep-1", body: `{"instances":[[1]]}`, code: "ValidationError",
			msg:  "SessionId: endpoint Ep-1 cannot take it: stateful sessions are not supported by this server.",
			edit: func(in *sagemakerruntime.InvokeEndpointInput) { in.SessionId = aws.String("NEW_SESSION") }},
		{name: "explanations", endpoint: "Ep-1", body: `{"instances":[[1]]}`, code: "ValidationError",
			msg:  "EnableExplanations: endpoint Ep-1 cannot take it: explainers (ExplainerConfig) are not supported by this server.",
			edit: func(in *sagemakerruntime.InvokeEndpointInput) { in.EnableExplanations = aws.String("`true`") }},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(tt.endpoint), Body: []byte(tt.body), ContentType: aws.String("application/json")}
			if tt.target != "" {
				in.TargetVariant = aws.String(tt.target)
			}
			if tt.targetModel != "" {
				in.TargetModel = aws.String(tt.targetModel)
			}
			if tt.edit != nil {
				tt.edit(in)
			}
			_, err := e.rt.InvokeEndpoint(ctx, in)
			wantErr(t, err, tt.code, tt.msg)
			var me *rttypes.ModelError
			if tt.code == "ModelError" && (!errors.As(err, &me) || aws.ToInt32(me.OriginalStatusCode) < 400 || me.OriginalMessage == nil) {
				t.Errorf("ModelError %+v", me)
			}
		})
	}

	// The invocations were recorded.
	dps, err := e.metrics().Query(metrics.Query{
		Namespace: "AWS/SageMaker", MetricName: "Invocations",
		Dimensions: []metrics.Dimension{{Name: "EndpointName", Value: "Ep-1"}, {Name: "VariantName", Value: "green"}},
		Start:      time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), Period: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dps) != 1 || dps[0].Sum != float64(counts["green"]+5+1) { // +1: the payload the model rejected reached it
		t.Errorf("Invocations of green: %+v, want %d", dps, counts["green"]+6)
	}

	// Scaling a variant changes its instances.
	if _, err := e.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName: aws.String("Ep-1"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{
			{VariantName: aws.String("blue"), DesiredInstanceCount: aws.Int32(2)},
			{VariantName: aws.String("green"), DesiredWeight: aws.Float32(0)},
		},
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool {
		d, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("Ep-1")})
		return err == nil && d.EndpointStatus == types.EndpointStatusInService && aws.ToInt32(d.ProductionVariants[0].CurrentInstanceCount) == 2
	})
	wantVariants(t, e, "Ep-1", map[string]int32{"blue": 2, "green": 1})
	if ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker); len(ps) != 3 {
		t.Errorf("%d model servers run, want 3", len(ps))
	}
	if counts := invokeN(t, e, "Ep-1", "", 10); counts["blue"] != 10 {
		t.Errorf("green has weight 0, yet invoked %v", counts)
	}

	// A restart stops the instances and launches them again; the endpoint
	// stays InService meanwhile, and its CurrentInstanceCount tells how
	// many are ready.
	e.restart()
	if ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker); len(ps) != 0 {
		t.Errorf("%d model servers left after the server stopped", len(ps))
	}
	e.waitInService("Ep-1")
	waitFor(t, 20*time.Second, func() bool {
		d, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("Ep-1")})
		return err == nil && aws.ToInt32(d.ProductionVariants[0].CurrentInstanceCount) == 2 && aws.ToInt32(d.ProductionVariants[1].CurrentInstanceCount) == 1
	})
	wantVariants(t, e, "Ep-1", map[string]int32{"blue": 2, "green": 1})
	if counts := invokeN(t, e, "Ep-1", "green", 3); counts["green"] != 3 {
		t.Errorf("after restart: invoked %v", counts)
	}
	// The stored status, which StatusEquals filters on, follows within
	// moments.
	waitFor(t, 5*time.Second, func() bool {
		l, err := e.sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{StatusEquals: types.EndpointStatusInService})
		return err == nil && len(l.Endpoints) == 1 && aws.ToString(l.Endpoints[0].EndpointName) == "Ep-1" &&
			l.Endpoints[0].EndpointStatus == types.EndpointStatusInService
	})

	// Deleting stops every model server.
	if _, err := e.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String("ep-1")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker)) == 0 })
	_, err = e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("Ep-1")})
	wantErr(t, err, "ValidationException", `Could not find endpoint "`+arn("endpoint", "ep-1")+`".`)
	_, err = e.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("Ep-1"), Body: []byte("{}")})
	wantErr(t, err, "ValidationError", "Endpoint Ep-1 of account "+account+" not found.")
}

// invokeN invokes an endpoint n times and counts the variants that
// answered.
func invokeN(t *testing.T, e *hostEnv, name, target string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for i := range n {
		in := &sagemakerruntime.InvokeEndpointInput{
			EndpointName: aws.String(name), ContentType: aws.String("application/json"),
			Body: fmt.Appendf(nil, `{"instances":[[%d,9,1]]}`, i),
		}
		if target != "" {
			in.TargetVariant = aws.String(target)
		}
		out, err := e.rt.InvokeEndpoint(e.ctx, in)
		if err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		if len(bytes.TrimSpace(out.Body)) == 0 || !strings.Contains(aws.ToString(out.ContentType), "json") {
			t.Fatalf("invoke %d: %s %q", i, aws.ToString(out.ContentType), out.Body)
		}
		counts[aws.ToString(out.InvokedProductionVariant)]++
	}
	return counts
}

func wantVariants(t *testing.T, e *hostEnv, name string, want map[string]int32) {
	t.Helper()
	d, err := e.sm.DescribeEndpoint(e.ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	for _, v := range d.ProductionVariants {
		if aws.ToInt32(v.CurrentInstanceCount) != aws.ToInt32(v.DesiredInstanceCount) {
			t.Errorf("variant %s: %d instances, want %d", aws.ToString(v.VariantName), aws.ToInt32(v.CurrentInstanceCount), aws.ToInt32(v.DesiredInstanceCount))
		}
		got[aws.ToString(v.VariantName)] = aws.ToInt32(v.CurrentInstanceCount)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("instances %v, want %v", got, want)
	}
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEndpointFails: a model server that cannot start makes the endpoint
// Failed, with the reason, and the waiter gives up.
func TestEndpointFails(t *testing.T) {
	e := newHostEnv(t)
	ctx := e.ctx
	if _, err := e.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("broken"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String("/bin/false")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String("broken"), ProductionVariants: []types.ProductionVariant{variant("only", "broken", 1, 1)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("broken"), EndpointConfigName: aws.String("broken")}); err != nil {
		t.Fatal(err)
	}
	w := sagemaker.NewEndpointInServiceWaiter(e.sm, func(o *sagemaker.EndpointInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("broken")}, 20*time.Second); err == nil ||
		!strings.Contains(err.Error(), "waiter state transitioned to Failure") {
		t.Fatalf("waiter: %v", err)
	}
	d, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("broken")})
	if err != nil {
		t.Fatal(err)
	}
	if d.EndpointStatus != types.EndpointStatusFailed || !strings.Contains(aws.ToString(d.FailureReason), "variant only") {
		t.Errorf("status %s: %q", d.EndpointStatus, aws.ToString(d.FailureReason))
	}
	_, err = e.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("broken"), Body: []byte(`{}`), ContentType: aws.String("application/json")})
	wantErr(t, err, "ValidationError", "Endpoint broken of account "+account+" not found.")
	_, err = e.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName:                aws.String("broken"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("only"), DesiredInstanceCount: aws.Int32(2)}},
	})
	wantErr(t, err, "ValidationException", `Cannot update failed endpoint "`+arn("endpoint", "broken")+`". Delete it and create it again.`)
	_, err = e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("broken"), EndpointConfigName: aws.String("broken")})
	wantErr(t, err, "ValidationException", `Cannot update failed endpoint "`+arn("endpoint", "broken")+`". Delete it and create it again.`)
	if _, err := e.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: aws.String("broken")}); err != nil {
		t.Fatal(err)
	}
}

// TestHostingRefusals: what endpoints here cannot do is refused with a
// ValidationException that says so, rather than silently ignored.
func TestHostingRefusals(t *testing.T) {
	e := newEnv(t, nil)
	ctx := e.ctx
	single := &types.ContainerDefinition{Image: aws.String(sm.SampleModelImage)}
	for name, spec := range map[string]*sagemaker.CreateModelInput{
		"single":   {PrimaryContainer: single},
		"pipeline": {Containers: []types.ContainerDefinition{*single, *single}},
		"listed":   {Containers: []types.ContainerDefinition{*single}}, // one container, as a list
	} {
		spec.ModelName, spec.ExecutionRoleArn = aws.String(name), aws.String(role)
		if _, err := e.sm.CreateModel(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	const pipelineMsg = "Model pipeline has 2 Containers: inference pipelines (models with more than one container) are not supported by this server; " +
		"use a model with one container (PrimaryContainer)."
	config := func(name, model string, edit func(*sagemaker.CreateEndpointConfigInput)) error {
		in := &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(name), ProductionVariants: []types.ProductionVariant{variant("main", model, 1, 1)}}
		if edit != nil {
			edit(in)
		}
		_, err := e.sm.CreateEndpointConfig(ctx, in)
		return err
	}
	wantErr(t, config("pipeline", "pipeline", nil), "ValidationException", pipelineMsg)
	wantErr(t, config("async", "listed", func(in *sagemaker.CreateEndpointConfigInput) {
		in.AsyncInferenceConfig = &types.AsyncInferenceConfig{OutputConfig: &types.AsyncInferenceOutputConfig{S3OutputPath: aws.String("s3://bucket/out")}}
	}), "ValidationException", "AsyncInferenceConfig: asynchronous inference is not supported by this server; its endpoints serve InvokeEndpoint (real-time) only.")
	wantErr(t, config("explainer", "listed", func(in *sagemaker.CreateEndpointConfigInput) {
		in.ExplainerConfig = &types.ExplainerConfig{ClarifyExplainerConfig: &types.ClarifyExplainerConfig{ShapConfig: &types.ClarifyShapConfig{
			ShapBaselineConfig: &types.ClarifyShapBaselineConfig{ShapBaseline: aws.String("1,2")}}}}
	}), "ValidationException", "ExplainerConfig: online explainability (SageMaker Clarify) is not supported by this server.")
	wantErr(t, config("shadow", "listed", func(in *sagemaker.CreateEndpointConfigInput) {
		in.ShadowProductionVariants = []types.ProductionVariant{variant("shadow", "listed", 1, 1)}
	}), "ValidationException", "ShadowProductionVariants: shadow variants are not supported by this server; give every variant in ProductionVariants.")
	// A recommendation job would benchmark a pipeline's first container only.
	_, err := e.sm.CreateInferenceRecommendationsJob(ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName: aws.String("pipeline-job"), JobType: types.RecommendationJobTypeDefault, RoleArn: aws.String(role),
		InputConfig: &types.RecommendationJobInputConfig{ModelName: aws.String("pipeline")},
	})
	wantErr(t, err, "ValidationException", pipelineMsg)
	// Nor may a job carry tags with AWS's reserved prefix.
	_, err = e.sm.CreateInferenceRecommendationsJob(ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName: aws.String("tagged-job"), JobType: types.RecommendationJobTypeDefault, RoleArn: aws.String(role),
		InputConfig: &types.RecommendationJobInputConfig{ModelName: aws.String("listed")},
		Tags:        []types.Tag{{Key: aws.String("AWS:team"), Value: aws.String("x")}},
	})
	wantErr(t, err, "ValidationException", `Tag key "AWS:team": keys starting with 'aws:' are reserved for AWS use.`)
	for _, m := range []string{"single", "listed"} {
		if err := config(m, m, nil); err != nil {
			t.Errorf("config of model %s: %v", m, err)
		}
	}
	// A model replaced by a pipeline after its config was created.
	if _, err := e.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: aws.String("single")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("single"), ExecutionRoleArn: aws.String(role),
		Containers: []types.ContainerDefinition{*single, *single}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("single")})
	wantErr(t, err, "ValidationException", strings.Replace(pipelineMsg, "Model pipeline", "Model single", 1))

	// DeploymentConfig, as UpdateEndpoint refuses it.
	_, err = e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("listed"),
		DeploymentConfig: &types.DeploymentConfig{RollingUpdatePolicy: &types.RollingUpdatePolicy{
			MaximumBatchSize:      &types.CapacitySize{Type: types.CapacitySizeTypeInstanceCount, Value: aws.Int32(1)},
			WaitIntervalInSeconds: aws.Int32(60),
		}}})
	wantErr(t, err, "ValidationException", "DeploymentConfig is not supported by this server: without it an update is blue/green, all at once.")
}

// TestRestartKeepsStatus: a restart relaunches the instances of every
// endpoint without changing what DescribeEndpoint says of it: one that was
// InService stays InService, with its LastModifiedTime, while its
// instances launch (CurrentInstanceCount counts those ready); one that was
// Creating resumes as Creating.
func TestRestartKeepsStatus(t *testing.T) {
	e := newHostEnv(t)
	ctx := e.ctx
	e.createModel("quick", map[string]string{"INFERSCALE_MODEL": "reference"})
	e.createModel("slow", map[string]string{"INFERSCALE_MODEL": "reference", "INFERSCALE_SETUP_DELAY": "2s"})
	for _, m := range []string{"quick", "slow"} {
		if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String(m), ProductionVariants: []types.ProductionVariant{variant("main", m, 1, 1)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("served"), EndpointConfigName: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	e.waitInService("served")
	// The stored status, which a restart resumes from, follows within
	// moments.
	waitFor(t, 5*time.Second, func() bool {
		l, err := e.sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{StatusEquals: types.EndpointStatusInService})
		return err == nil && len(l.Endpoints) == 1
	})
	before, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("served")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("young"), EndpointConfigName: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // LastModifiedTime has millisecond resolution
	e.restart()
	for name, want := range map[string]types.EndpointStatus{"served": types.EndpointStatusInService, "young": types.EndpointStatusCreating} {
		d, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if d.EndpointStatus != want {
			t.Errorf("%s just after the restart: %s, want %s", name, d.EndpointStatus, want)
		}
		if name == "served" {
			if n := aws.ToInt32(d.ProductionVariants[0].CurrentInstanceCount); n != 0 {
				t.Errorf("%s: %d instances ready while the slow model sets up", name, n)
			}
			if !d.LastModifiedTime.Equal(*before.LastModifiedTime) {
				t.Errorf("%s: LastModifiedTime %v, was %v", name, d.LastModifiedTime, before.LastModifiedTime)
			}
		}
	}
	// Invoking: an endpoint that is not in service does not exist for
	// SageMaker Runtime; one in service without an instance ready is
	// unavailable.
	invoke := func(name string) error {
		_, err := e.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(name), Body: []byte(`{"instances":[[1]]}`), ContentType: aws.String("application/json")})
		return err
	}
	wantErr(t, invoke("young"), "ValidationError", "Endpoint young of account "+account+" not found.")
	wantErr(t, invoke("served"), "ServiceUnavailable", "")
	l, err := e.sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{StatusEquals: types.EndpointStatusInService})
	if err != nil || len(l.Endpoints) != 1 || aws.ToString(l.Endpoints[0].EndpointName) != "served" {
		t.Errorf("InService after the restart: %+v, %v", l, err)
	}
	e.waitInService("young")
	waitFor(t, 20*time.Second, func() bool { return e.describe("served").current == 1 })
	after, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("served")})
	if err != nil {
		t.Fatal(err)
	}
	if after.EndpointStatus != types.EndpointStatusInService || !after.LastModifiedTime.Equal(*before.LastModifiedTime) {
		t.Errorf("served once relaunched: %s, LastModifiedTime %v, was %v", after.EndpointStatus, after.LastModifiedTime, before.LastModifiedTime)
	}
}

// TestRestartFinishesDelete: a server stopped in the middle of a
// DeleteEndpoint (the endpoint stored as Deleting, its instances gone with
// the server) finishes deleting it when it starts again, rather than
// launching it again.
func TestRestartFinishesDelete(t *testing.T) {
	e := newHostEnv(t)
	ctx := e.ctx
	marker := fmt.Sprintf("doomed-%d", time.Now().UnixNano())
	e.createModel("ref", map[string]string{"INFERSCALE_MODEL": "reference", "INFERSCALE_TEST_MARKER": marker})
	if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String("cfg"), ProductionVariants: []types.ProductionVariant{variant("main", "ref", 1, 1)},
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"doomed", "kept"} {
		if _, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String("cfg")}); err != nil {
			t.Fatal(err)
		}
		e.waitInService(name)
	}
	waitFor(t, 5*time.Second, func() bool {
		l, err := e.sm.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{StatusEquals: types.EndpointStatusInService})
		return err == nil && len(l.Endpoints) == 2
	})
	e.stop()

	// What DeleteEndpoint leaves when the server stops after its first step.
	st, err := store.Open(ctx, filepath.Join(e.dir, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := st.ListByStatus(ctx, "endpoint", "InService")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Name != "doomed" {
			continue
		}
		if _, err := st.Mutate(ctx, r.Key, func(r *store.Resource) error {
			var doc map[string]any
			if err := json.Unmarshal(r.Doc, &doc); err != nil {
				return err
			}
			doc["EndpointStatus"], r.Status = "Deleting", "Deleting"
			r.Doc, err = json.Marshal(doc)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	e.start()
	// Deleting until it is gone, as the endpoint-deleted waiter expects.
	var err2 error
	waitFor(t, 10*time.Second, func() bool {
		var d *sagemaker.DescribeEndpointOutput
		d, err2 = e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("doomed")})
		if err2 == nil && d.EndpointStatus != types.EndpointStatusDeleting {
			t.Fatalf("doomed after the restart: %s", d.EndpointStatus)
		}
		return err2 != nil
	})
	wantErr(t, err2, "ValidationException", `Could not find endpoint "`+arn("endpoint", "doomed")+`".`)
	e.waitInService("kept")
	waitFor(t, 20*time.Second, func() bool { return e.describe("kept").current == 1 })
	if ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker); len(ps) != 1 {
		t.Errorf("%d replicas run, want kept's 1 (doomed was launched again?)", len(ps))
	}
}
