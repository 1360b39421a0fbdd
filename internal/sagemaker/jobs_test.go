package sagemaker_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/inferscale/inferscale/internal/modelserver/mlp"
	sm "github.com/inferscale/inferscale/internal/sagemaker"
	"github.com/inferscale/inferscale/internal/server"
	"github.com/inferscale/inferscale/internal/store"
)

const (
	c8g = types.ProductionVariantInstanceTypeMlC8gMedium
	m8g = types.ProductionVariantInstanceTypeMlM8gMedium
)

// wantErrContaining checks that err is an API error with this code whose
// message contains each of parts.
func wantErrContaining(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("error %v, want %s", err, code)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("got %s: %q, want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, p := range parts {
		if !strings.Contains(ae.ErrorMessage(), p) {
			t.Errorf("message %q lacks %q", ae.ErrorMessage(), p)
		}
	}
}

// TestDefaultJob runs a Default job on the instance types a model package
// supports and checks the ranked recommendations against the reference
// model's known capacity, the steps, the scaling configuration and the
// list filters.
func TestDefaultJob(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, 1)
	// 1 slot of 10 ms: exactly 100 requests/s, 6000 a minute.
	pkg := e.createReferencePackage("reference", referenceEnv("1", "10ms", "default-job"), c8g, m8g)
	created := time.Now()
	out, err := e.sm.CreateInferenceRecommendationsJob(e.ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName:        aws.String("default-job"),
		JobType:        types.RecommendationJobTypeDefault,
		RoleArn:        aws.String(jobRole),
		JobDescription: aws.String("two one-vCPU types"),
		InputConfig:    &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(pkg)},
		Tags:           []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.JobArn) != jobArn("default-job") {
		t.Errorf("JobArn = %s", aws.ToString(out.JobArn))
	}
	_, err = e.sm.CreateInferenceRecommendationsJob(e.ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName: aws.String("default-job"), JobType: types.RecommendationJobTypeDefault, RoleArn: aws.String(jobRole),
		InputConfig: &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(pkg)},
	})
	wantErrContaining(t, err, "ResourceInUse", jobArn("default-job"), "already exists")

	d := e.waitStatus("default-job", 90*time.Second, types.RecommendationJobStatusCompleted)
	if aws.ToString(d.JobDescription) != "two one-vCPU types" || d.JobType != types.RecommendationJobTypeDefault ||
		aws.ToString(d.RoleArn) != jobRole || d.CompletionTime == nil || d.CompletionTime.Before(*d.CreationTime) ||
		!d.LastModifiedTime.Equal(*d.CompletionTime) || d.CreationTime.Before(created.Add(-time.Second)) ||
		aws.ToString(d.InputConfig.ModelPackageVersionArn) != pkg || d.FailureReason != nil {
		t.Errorf("description %+v", d)
	}
	recs := d.InferenceRecommendations
	if len(recs) != 2 {
		t.Fatalf("%d recommendations, want 2: %+v", len(recs), recs)
	}
	// Both serve the same 6000 a minute, so the cheaper type ranks first.
	for i, want := range []struct {
		typ   types.ProductionVariantInstanceType
		price float64
		ep    string
	}{{c8g, priceC8g, "default-job-ep0"}, {m8g, priceM8g, "default-job-ep1"}} {
		r := recs[i]
		m := r.Metrics
		if r.EndpointConfiguration.InstanceType != want.typ || aws.ToString(r.EndpointConfiguration.EndpointName) != want.ep ||
			aws.ToInt32(r.EndpointConfiguration.InitialInstanceCount) != 1 || !strings.HasPrefix(aws.ToString(r.RecommendationId), "default-job/") {
			t.Errorf("recommendation %d: %+v", i, r.EndpointConfiguration)
		}
		inv := aws.ToInt32(m.MaxInvocations)
		if inv < 4800 || inv > 6120 {
			t.Errorf("%s: MaxInvocations %d, want about 6000 (1 slot / 10 ms)", want.typ, inv)
		}
		if lat := aws.ToInt32(m.ModelLatency); lat < 10000 || lat > 100000 {
			t.Errorf("%s: ModelLatency %d µs, want at least the 10 ms service time", want.typ, lat)
		}
		if aws.ToFloat32(m.CostPerHour) != float32(want.price) {
			t.Errorf("%s: CostPerHour %v, want %v", want.typ, aws.ToFloat32(m.CostPerHour), want.price)
		}
		if got, exp := float64(aws.ToFloat32(m.CostPerInference)), want.price/float64(inv*60); math.Abs(got-exp) > exp*1e-4 {
			t.Errorf("%s: CostPerInference %g, want %g", want.typ, got, exp)
		}
		if m.CpuUtilization == nil || m.MemoryUtilization == nil || aws.ToInt32(m.ModelSetupTime) < 1 {
			t.Errorf("%s: CPU %v, memory %v, setup %v", want.typ, m.CpuUtilization, m.MemoryUtilization, m.ModelSetupTime)
		}
		if r.InvocationStartTime == nil || r.InvocationEndTime == nil || !r.InvocationEndTime.After(*r.InvocationStartTime) {
			t.Errorf("%s: invocation times %v..%v", want.typ, r.InvocationStartTime, r.InvocationEndTime)
		}
	}

	// Steps, a page at a time.
	var steps []types.InferenceRecommendationsJobStep
	var token *string
	for page := 0; page < 3; page++ {
		out, err := e.sm.ListInferenceRecommendationsJobSteps(e.ctx, &sagemaker.ListInferenceRecommendationsJobStepsInput{
			JobName: aws.String("default-job"), StepType: types.RecommendationStepTypeBenchmark, MaxResults: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Steps) != 1 {
			t.Fatalf("page %d: %d steps", page, len(out.Steps))
		}
		steps = append(steps, out.Steps...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	if len(steps) != 2 {
		t.Fatalf("%d steps, want 2", len(steps))
	}
	for i, st := range steps {
		b := st.InferenceBenchmark
		if st.Status != types.RecommendationJobStatusCompleted || aws.ToString(st.JobName) != "default-job" || b == nil || b.Metrics == nil ||
			aws.ToString(b.EndpointConfiguration.EndpointName) != fmt.Sprintf("default-job-ep%d", i) ||
			aws.ToInt32(b.EndpointMetrics.MaxInvocations) != aws.ToInt32(b.Metrics.MaxInvocations) {
			t.Errorf("step %d: %+v %+v", i, st, b)
		}
	}
	if out, err := e.sm.ListInferenceRecommendationsJobSteps(e.ctx, &sagemaker.ListInferenceRecommendationsJobStepsInput{
		JobName: aws.String("default-job"), Status: types.RecommendationJobStatusFailed}); err != nil || len(out.Steps) != 0 {
		t.Errorf("FAILED steps: %+v, %v", out, err)
	}
	_, err = e.sm.ListInferenceRecommendationsJobSteps(e.ctx, &sagemaker.ListInferenceRecommendationsJobStepsInput{JobName: aws.String("default-job"), NextToken: aws.String("x")})
	wantErrContaining(t, err, "ValidationException", "NextToken")

	// Scaling, by recommendation and by endpoint.
	top := recs[0]
	maxInv := aws.ToInt32(top.Metrics.MaxInvocations)
	sc, err := e.sm.GetScalingConfigurationRecommendation(e.ctx, &sagemaker.GetScalingConfigurationRecommendationInput{
		InferenceRecommendationsJobName: aws.String("default-job"),
		RecommendationId:                top.RecommendationId,
		ScalingPolicyObjective:          &types.ScalingPolicyObjective{MinInvocationsPerMinute: aws.Int32(2 * maxInv), MaxInvocationsPerMinute: aws.Int32(5 * maxInv)},
	})
	if err != nil {
		t.Fatal(err)
	}
	target := aws.ToInt32(sc.Metric.InvocationsPerInstance)
	ceilDiv := func(a, b int32) int32 { return (a + b - 1) / b }
	dc := sc.DynamicScalingConfiguration
	if target < 1 || target > maxInv || aws.ToInt32(sc.TargetCpuUtilizationPerCore) != 50 || aws.ToString(sc.RecommendationId) != aws.ToString(top.RecommendationId) ||
		aws.ToInt32(dc.MinCapacity) != max(1, ceilDiv(2*maxInv, target)) || aws.ToInt32(dc.MaxCapacity) != ceilDiv(5*maxInv, target) ||
		aws.ToInt32(dc.ScaleInCooldown) != 300 || aws.ToInt32(dc.ScaleOutCooldown) != 60 || len(dc.ScalingPolicies) != 1 {
		t.Errorf("scaling %+v %+v (MaxInvocations %d)", sc.Metric, dc, maxInv)
	} else if tt, ok := dc.ScalingPolicies[0].(*types.ScalingPolicyMemberTargetTracking); !ok || aws.ToFloat64(tt.Value.TargetValue) != float64(target) {
		t.Errorf("policy %#v", dc.ScalingPolicies[0])
	} else if pm, ok := tt.Value.MetricSpecification.(*types.MetricSpecificationMemberPredefined); !ok ||
		aws.ToString(pm.Value.PredefinedMetricType) != "SageMakerVariantInvocationsPerInstance" {
		t.Errorf("metric %#v", tt.Value.MetricSpecification)
	}
	byEndpoint, err := e.sm.GetScalingConfigurationRecommendation(e.ctx, &sagemaker.GetScalingConfigurationRecommendationInput{
		InferenceRecommendationsJobName: aws.String("default-job"), EndpointName: aws.String("default-job-ep1"), TargetCpuUtilizationPerCore: aws.Int32(80)})
	if err != nil || aws.ToString(byEndpoint.EndpointName) != "default-job-ep1" || aws.ToInt32(byEndpoint.TargetCpuUtilizationPerCore) != 80 ||
		aws.ToInt32(byEndpoint.Metric.InvocationsPerInstance) > aws.ToInt32(recs[1].Metrics.MaxInvocations) {
		t.Errorf("scaling by endpoint: %+v, %v", byEndpoint, err)
	}
	for _, in := range []*sagemaker.GetScalingConfigurationRecommendationInput{
		{InferenceRecommendationsJobName: aws.String("default-job"), RecommendationId: aws.String("default-job/00000000")},
		{InferenceRecommendationsJobName: aws.String("default-job"), EndpointName: aws.String("default-job-ep7")},
	} {
		_, err := e.sm.GetScalingConfigurationRecommendation(e.ctx, in)
		wantErrContaining(t, err, "ResourceNotFound", "has no recommendation")
	}

	// Listing, with each filter.
	later := time.Now().Add(time.Hour)
	for _, tt := range []struct {
		name string
		in   sagemaker.ListInferenceRecommendationsJobsInput
		want int
	}{
		{"all", sagemaker.ListInferenceRecommendationsJobsInput{}, 1},
		{"name", sagemaker.ListInferenceRecommendationsJobsInput{NameContains: aws.String("DEFAULT")}, 1},
		{"other name", sagemaker.ListInferenceRecommendationsJobsInput{NameContains: aws.String("advanced")}, 0},
		{"status", sagemaker.ListInferenceRecommendationsJobsInput{StatusEquals: types.RecommendationJobStatusCompleted}, 1},
		{"other status", sagemaker.ListInferenceRecommendationsJobsInput{StatusEquals: types.RecommendationJobStatusFailed}, 0},
		{"package", sagemaker.ListInferenceRecommendationsJobsInput{ModelPackageVersionArnEquals: aws.String(pkg)}, 1},
		{"other package", sagemaker.ListInferenceRecommendationsJobsInput{ModelPackageVersionArnEquals: aws.String(packageArn("other"))}, 0},
		{"model name", sagemaker.ListInferenceRecommendationsJobsInput{ModelNameEquals: aws.String("reference")}, 0},
		{"created before", sagemaker.ListInferenceRecommendationsJobsInput{CreationTimeBefore: aws.Time(later)}, 1},
		{"created after", sagemaker.ListInferenceRecommendationsJobsInput{CreationTimeAfter: aws.Time(later)}, 0},
		{"modified at completion", sagemaker.ListInferenceRecommendationsJobsInput{LastModifiedTimeAfter: d.CompletionTime}, 1},
		{"modified before completion", sagemaker.ListInferenceRecommendationsJobsInput{LastModifiedTimeBefore: d.CompletionTime}, 0},
		{"sorted", sagemaker.ListInferenceRecommendationsJobsInput{SortBy: types.ListInferenceRecommendationsJobsSortByStatus, SortOrder: types.SortOrderAscending}, 1},
	} {
		out, err := e.sm.ListInferenceRecommendationsJobs(e.ctx, &tt.in)
		if err != nil || len(out.InferenceRecommendationsJobs) != tt.want {
			t.Errorf("%s: %+v, %v; want %d jobs", tt.name, out, err, tt.want)
			continue
		}
		if tt.want == 1 {
			j := out.InferenceRecommendationsJobs[0]
			if aws.ToString(j.JobArn) != jobArn("default-job") || j.Status != types.RecommendationJobStatusCompleted ||
				aws.ToString(j.ModelPackageVersionArn) != pkg || !strings.HasPrefix(aws.ToString(j.SamplePayloadUrl), "file://") ||
				aws.ToString(j.JobDescription) != "two one-vCPU types" || j.CompletionTime == nil {
				t.Errorf("%s: summary %+v", tt.name, j)
			}
		}
	}

	tags, err := e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(jobArn("default-job"))})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Errorf("tags %+v, %v", tags, err)
	}
	_, err = e.sm.StopInferenceRecommendationsJob(e.ctx, &sagemaker.StopInferenceRecommendationsJobInput{JobName: aws.String("default-job")})
	wantErrContaining(t, err, "ValidationException", "already COMPLETED")
	waitNoProcs(t, "default-job", 5*time.Second)
}

// TestAdvancedJob runs a PHASES traffic pattern under a P95 threshold on
// two instance types with an environment-parameter range, on a model
// (ModelName) whose payloads are downloaded over HTTP.
func TestAdvancedJob(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, 1)
	archive := writeTarGz(t, filepath.Join(t.TempDir(), "payloads.tar.gz"), payloadFiles)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /payloads.tar.gz", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, archive) })
	files := httptest.NewServer(mux)
	defer files.Close()

	// 4 slots of 10 ms: 400 requests/s.
	_, err := e.sm.CreateModel(e.ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String("reference-model"),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(sm.SampleModelImage), Environment: referenceEnv("4", "10ms", "advanced-job")},
	})
	if err != nil {
		t.Fatal(err)
	}
	workers := &types.EnvironmentParameterRanges{CategoricalParameterRanges: []types.CategoricalParameter{
		{Name: aws.String("SAGEMAKER_MODEL_SERVER_WORKERS"), Value: []string{"1", "2"}}}}
	_, err = e.sm.CreateInferenceRecommendationsJob(e.ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName: aws.String("advanced-job"),
		JobType: types.RecommendationJobTypeAdvanced,
		RoleArn: aws.String(jobRole),
		InputConfig: &types.RecommendationJobInputConfig{
			ModelName: aws.String("reference-model"),
			ContainerConfig: &types.RecommendationJobContainerConfig{PayloadConfig: &types.RecommendationJobPayloadConfig{
				SamplePayloadUrl: aws.String(files.URL + "/payloads.tar.gz"), SupportedContentTypes: []string{"application/json"}}},
			TrafficPattern: &types.TrafficPattern{TrafficType: types.TrafficTypePhases, Phases: []types.Phase{
				{InitialNumberOfUsers: aws.Int32(1), SpawnRate: aws.Int32(60), DurationInSeconds: aws.Int32(2)}}},
			EndpointConfigurations: []types.EndpointInputConfiguration{
				{InstanceType: c8g, EnvironmentParameterRanges: workers},
				{InstanceType: m8g, EnvironmentParameterRanges: workers},
			},
			// The first three of the four combinations.
			ResourceLimit: &types.RecommendationJobResourceLimit{MaxNumberOfTests: aws.Int32(3), MaxParallelOfTests: aws.Int32(1)},
		},
		StoppingConditions: &types.RecommendationJobStoppingConditions{
			ModelLatencyThresholds: []types.ModelLatencyThreshold{{Percentile: aws.String("P95"), ValueInMilliseconds: aws.Int32(100)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := e.waitStatus("advanced-job", 90*time.Second, types.RecommendationJobStatusCompleted)
	if d.InputConfig.TrafficPattern == nil || len(d.InputConfig.TrafficPattern.Phases) != 1 || d.StoppingConditions == nil ||
		len(d.InputConfig.EndpointConfigurations) != 2 {
		t.Errorf("the description does not repeat the request: %+v", d.InputConfig)
	}
	if len(d.InferenceRecommendations) != 3 {
		t.Fatalf("%d recommendations, want 3 (MaxNumberOfTests of 2 types × 2 values)", len(d.InferenceRecommendations))
	}
	seen := map[string]bool{}
	for _, r := range d.InferenceRecommendations {
		env := r.ModelConfiguration.EnvironmentParameters
		if len(env) != 1 || aws.ToString(env[0].Key) != "SAGEMAKER_MODEL_SERVER_WORKERS" || aws.ToString(env[0].ValueType) != "String" {
			t.Fatalf("environment %+v", env)
		}
		seen[string(r.EndpointConfiguration.InstanceType)+" "+aws.ToString(env[0].Value)] = true
		m := r.Metrics
		// P95 under the threshold, and at least the service time; at most
		// the capacity (users at 10 ms each offer up to 100 requests/s).
		if lat := aws.ToInt32(m.ModelLatency); lat < 10000 || lat > 100000 {
			t.Errorf("%s: ModelLatency %d µs, want the P95 between 10 and 100 ms", r.EndpointConfiguration.InstanceType, lat)
		}
		if inv := aws.ToInt32(m.MaxInvocations); inv < 3000 || inv > 24500 {
			t.Errorf("%s: MaxInvocations %d, want 1 to 4 users' worth at 10 ms", r.EndpointConfiguration.InstanceType, inv)
		}
	}
	if want := map[string]bool{"ml.c8g.medium 1": true, "ml.c8g.medium 2": true, "ml.m8g.medium 1": true}; !maps.Equal(seen, want) {
		t.Errorf("configurations %v, want %v", seen, want)
	}
	list, err := e.sm.ListInferenceRecommendationsJobs(e.ctx, &sagemaker.ListInferenceRecommendationsJobsInput{ModelNameEquals: aws.String("reference-model")})
	if err != nil || len(list.InferenceRecommendationsJobs) != 1 || aws.ToString(list.InferenceRecommendationsJobs[0].ModelName) != "reference-model" ||
		!strings.HasPrefix(aws.ToString(list.InferenceRecommendationsJobs[0].SamplePayloadUrl), "http://127.0.0.1:") {
		t.Errorf("list by model name: %+v, %v", list, err)
	}
	waitNoProcs(t, "advanced-job", 5*time.Second)
}

// TestJobArtifactsQueueAndFailure runs, one at a time, a job whose model
// data (file:// tar.gz) and payloads (file:// directory) the model server
// must really use, and a job that queues behind it and fails its latency
// threshold.
func TestJobArtifactsQueueAndFailure(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, 1)
	dir := t.TempDir()
	// An MLP of input width 3: the payloads fit it, not the default 64, so
	// the job completes only if SM_MODEL_DIR points at the extracted data.
	net, err := mlp.Generate(7, []int{3, 16, 2})
	if err != nil {
		t.Fatal(err)
	}
	var weights strings.Builder
	if err := net.WriteJSON(&weights); err != nil {
		t.Fatal(err)
	}
	modelData := writeTarGz(t, filepath.Join(dir, "model.tar.gz"), map[string]string{"model.json": weights.String(), "code/README": "unused"})
	payloadDir := filepath.Join(dir, "payloads")
	for name, body := range payloadFiles {
		p := filepath.Join(payloadDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(payloadDir, ".DS_Store"), []byte("not a payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = e.sm.CreateModelPackageGroup(e.ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("tiny")})
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := e.sm.CreateModelPackage(e.ctx, &sagemaker.CreateModelPackageInput{
		ModelPackageGroupName: aws.String("tiny"),
		SamplePayloadUrl:      aws.String("file://" + payloadDir),
		InferenceSpecification: &types.InferenceSpecification{
			Containers: []types.ModelPackageContainerDefinition{{Image: aws.String(sm.SampleModelImage), ModelDataUrl: aws.String("file://" + modelData),
				Environment: map[string]string{"INFERSCALE_TEST_MARKER": "artifacts-job"}}},
			SupportedContentTypes: []string{"application/json"}, SupportedResponseMIMETypes: []string{"application/json"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pkg.ModelPackageArn) != packageArn("tiny/1") {
		t.Fatalf("package %s", aws.ToString(pkg.ModelPackageArn))
	}
	create := func(name string, in *sagemaker.CreateInferenceRecommendationsJobInput) {
		t.Helper()
		in.JobName, in.RoleArn = aws.String(name), aws.String(jobRole)
		if _, err := e.sm.CreateInferenceRecommendationsJob(e.ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	create("artifacts-job", &sagemaker.CreateInferenceRecommendationsJobInput{
		JobType: types.RecommendationJobTypeAdvanced,
		InputConfig: &types.RecommendationJobInputConfig{ModelPackageVersionArn: pkg.ModelPackageArn,
			EndpointConfigurations: []types.EndpointInputConfiguration{{InstanceType: c8g}},
			TrafficPattern: &types.TrafficPattern{TrafficType: types.TrafficTypePhases, Phases: []types.Phase{
				{InitialNumberOfUsers: aws.Int32(2), SpawnRate: aws.Int32(0), DurationInSeconds: aws.Int32(2)}}}},
	})
	// No 20 ms request meets a 5 ms P95.
	refPkg := e.createReferencePackage("slow", referenceEnv("2", "20ms", "failing-job"))
	create("failing-job", &sagemaker.CreateInferenceRecommendationsJobInput{
		JobType: types.RecommendationJobTypeAdvanced,
		InputConfig: &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(refPkg),
			EndpointConfigurations: []types.EndpointInputConfiguration{{InstanceType: m8g}},
			TrafficPattern: &types.TrafficPattern{TrafficType: types.TrafficTypePhases, Phases: []types.Phase{
				{InitialNumberOfUsers: aws.Int32(1), SpawnRate: aws.Int32(0), DurationInSeconds: aws.Int32(2)}}}},
		StoppingConditions: &types.RecommendationJobStoppingConditions{
			ModelLatencyThresholds: []types.ModelLatencyThreshold{{Percentile: aws.String("P95"), ValueInMilliseconds: aws.Int32(5)}}},
	})

	// One job at a time: the second waits, PENDING, with its plan listed.
	e.waitStatus("artifacts-job", 30*time.Second, types.RecommendationJobStatusInProgress)
	if d, err := e.sm.DescribeInferenceRecommendationsJob(e.ctx, &sagemaker.DescribeInferenceRecommendationsJobInput{JobName: aws.String("failing-job")}); err != nil ||
		(d.Status != types.RecommendationJobStatusPending && !hasStatus(e, "artifacts-job", types.RecommendationJobStatusCompleted)) {
		t.Errorf("queued job: %+v, %v", d, err)
	}

	d := e.waitStatus("artifacts-job", 60*time.Second, types.RecommendationJobStatusCompleted)
	if len(d.InferenceRecommendations) != 1 || aws.ToInt32(d.InferenceRecommendations[0].Metrics.MaxInvocations) <= 0 ||
		aws.ToFloat32(d.InferenceRecommendations[0].Metrics.CostPerHour) != priceC8g {
		t.Errorf("artifacts job recommendations: %+v", d.InferenceRecommendations)
	}

	f := e.waitStatus("failing-job", 60*time.Second, types.RecommendationJobStatusFailed)
	if r := aws.ToString(f.FailureReason); !strings.Contains(r, "every benchmark failed") || !strings.Contains(r, "no window met the limits") {
		t.Errorf("FailureReason %q", r)
	}
	if len(f.InferenceRecommendations) != 0 {
		t.Errorf("a failed job recommends %+v", f.InferenceRecommendations)
	}
	steps := e.steps("failing-job")
	if len(steps) != 1 || steps[0].Status != types.RecommendationJobStatusFailed || steps[0].InferenceBenchmark == nil ||
		!strings.Contains(aws.ToString(steps[0].InferenceBenchmark.FailureReason), "P95 latency") {
		t.Errorf("failed steps %+v", steps)
	}
	_, err = e.sm.GetScalingConfigurationRecommendation(e.ctx, &sagemaker.GetScalingConfigurationRecommendationInput{
		InferenceRecommendationsJobName: aws.String("failing-job"), EndpointName: aws.String("failing-job-ep0")})
	wantErrContaining(t, err, "ValidationException", "is FAILED", "COMPLETED jobs only")
	waitNoProcs(t, "artifacts-job", 5*time.Second)
	waitNoProcs(t, "failing-job", 5*time.Second)
}

func hasStatus(e *jobEnv, name string, s types.RecommendationJobStatus) bool {
	d, err := e.sm.DescribeInferenceRecommendationsJob(e.ctx, &sagemaker.DescribeInferenceRecommendationsJobInput{JobName: aws.String(name)})
	return err == nil && d.Status == s
}

// TestStopJob stops a queued job and a running one (whose model server is
// then stopped), and shuts the server down under a running job, which
// resumes when it starts again.
func TestStopJob(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, 1)
	env := referenceEnv("2", "20ms", "stop-job")
	env["INFERSCALE_SETUP_DELAY"] = "60s" // the job stays IN_PROGRESS, its server in setup
	pkg := e.createReferencePackage("slow-setup", env, c8g)
	create := func(name string) {
		t.Helper()
		_, err := e.sm.CreateInferenceRecommendationsJob(e.ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
			JobName: aws.String(name), JobType: types.RecommendationJobTypeDefault, RoleArn: aws.String(jobRole),
			InputConfig: &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(pkg)},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	stop := func(name string) error {
		_, err := e.sm.StopInferenceRecommendationsJob(e.ctx, &sagemaker.StopInferenceRecommendationsJobInput{JobName: aws.String(name)})
		return err
	}

	create("running")
	create("queued")
	e.waitStatus("running", 20*time.Second, types.RecommendationJobStatusInProgress)
	waitProcs(t, "stop-job", 10*time.Second)
	if st := e.steps("running"); len(st) != 1 || st[0].Status != types.RecommendationJobStatusInProgress || st[0].InferenceBenchmark.InvocationStartTime == nil {
		t.Errorf("steps of the running job: %+v", st)
	}
	if st := e.steps("queued"); len(st) != 0 {
		t.Errorf("steps of a queued job: %+v", st)
	}

	if err := stop("queued"); err != nil {
		t.Fatal(err)
	}
	if d := e.waitStatus("queued", time.Second, types.RecommendationJobStatusStopped); d.CompletionTime == nil {
		t.Errorf("stopped queued job: %+v", d)
	}
	if err := stop("running"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("running", 20*time.Second, types.RecommendationJobStatusStopped)
	waitNoProcs(t, "stop-job", 10*time.Second)
	if st := e.steps("running"); len(st) != 1 || st[0].Status != types.RecommendationJobStatusStopped {
		t.Errorf("steps of the stopped job: %+v", st)
	}
	wantErrContaining(t, stop("running"), "ValidationException", "already STOPPED")

	// A graceful shutdown leaves a running job IN_PROGRESS, without its
	// server; the next start resumes it.
	create("resumed")
	e.waitStatus("resumed", 20*time.Second, types.RecommendationJobStatusInProgress)
	waitProcs(t, "stop-job", 10*time.Second)
	e.restart()
	d, err := e.sm.DescribeInferenceRecommendationsJob(e.ctx, &sagemaker.DescribeInferenceRecommendationsJobInput{JobName: aws.String("resumed")})
	if err != nil || d.Status != types.RecommendationJobStatusInProgress {
		t.Fatalf("after a restart: %+v, %v", d, err)
	}
	waitProcs(t, "stop-job", 10*time.Second) // launched again
	if err := stop("resumed"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("resumed", 20*time.Second, types.RecommendationJobStatusStopped)
	waitNoProcs(t, "stop-job", 10*time.Second)

	// A job the server was stopping when it went down is STOPPED when it
	// comes back.
	create("was-stopping")
	e.waitStatus("was-stopping", 20*time.Second, types.RecommendationJobStatusInProgress)
	e.stop()
	st, err := store.Open(e.ctx, filepath.Join(e.dir, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Mutate(e.ctx, store.Key{Account: "123456789012", Region: jobRegion, Kind: "inference-recommendations-job", Name: "was-stopping"},
		func(r *store.Resource) error {
			var doc map[string]any
			if err := json.Unmarshal(r.Doc, &doc); err != nil {
				return err
			}
			doc["Status"], r.Status = "STOPPING", "STOPPING"
			r.Doc, err = json.Marshal(doc)
			return err
		})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	if d := e.waitStatus("was-stopping", 10*time.Second, types.RecommendationJobStatusStopped); d.CompletionTime == nil {
		t.Errorf("recovered STOPPING job: %+v", d)
	}
	waitNoProcs(t, "stop-job", 10*time.Second)

	// Every job listed, two at a time, by name.
	var names []string
	var token *string
	for range 4 {
		out, err := e.sm.ListInferenceRecommendationsJobs(e.ctx, &sagemaker.ListInferenceRecommendationsJobsInput{
			SortBy: types.ListInferenceRecommendationsJobsSortByName, SortOrder: types.SortOrderAscending, MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range out.InferenceRecommendationsJobs {
			names = append(names, aws.ToString(j.JobName))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if want := []string{"queued", "resumed", "running", "was-stopping"}; !slices.Equal(names, want) {
		t.Errorf("listed %v, want %v", names, want)
	}
}

// TestJobErrors checks what is refused, with SageMaker's codes and
// messages that name the field.
func TestJobErrors(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, 1)
	dir := t.TempDir()
	payloads := writeTarGz(t, filepath.Join(dir, "payloads.tar.gz"), payloadFiles)
	notExec := filepath.Join(dir, "server.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := func(name, image, payloadURL, modelData string, env map[string]string) string {
		t.Helper()
		in := &sagemaker.CreateModelPackageInput{
			ModelPackageName: aws.String(name),
			InferenceSpecification: &types.InferenceSpecification{
				Containers:            []types.ModelPackageContainerDefinition{{Image: aws.String(image), Environment: env}},
				SupportedContentTypes: []string{"application/json"}, SupportedResponseMIMETypes: []string{"application/json"},
			},
		}
		if payloadURL != "" {
			in.SamplePayloadUrl = aws.String(payloadURL)
		}
		if modelData != "" {
			in.InferenceSpecification.Containers[0].ModelDataUrl = aws.String(modelData)
		}
		out, err := e.sm.CreateModelPackage(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ModelPackageArn)
	}
	slowEnv := referenceEnv("2", "20ms", "job-errors")
	slowEnv["INFERSCALE_SETUP_DELAY"] = "60s"
	slow := pkg("slow", sm.SampleModelImage, "file://"+payloads, "", slowEnv)
	good := pkg("good", sm.SampleModelImage, "file://"+payloads, "", nil)
	ecr := pkg("ecr", "123456789012.dkr.ecr.us-east-1.amazonaws.com/bert:2", "file://"+payloads, "", nil)
	relative := pkg("relative", "bin/server", "file://"+payloads, "", nil)
	nonExec := pkg("not-executable", "file://"+notExec, "file://"+payloads, "", nil)
	missingPayloads := pkg("missing-payloads", sm.SampleModelImage, "file://"+dir+"/nope.tar.gz", "", nil)
	s3Payloads := pkg("s3-payloads", sm.SampleModelImage, "s3://bucket/payloads.tar.gz", "", nil)
	s3Model := pkg("s3-model", sm.SampleModelImage, "file://"+payloads, "s3://bucket/model.tar.gz", nil)
	noPayloads := pkg("no-payloads", "http://127.0.0.1:1", "", "", nil)

	ic := func(pkg string) *types.RecommendationJobInputConfig {
		return &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(pkg)}
	}
	tests := []struct {
		name  string
		in    sagemaker.CreateInferenceRecommendationsJobInput
		code  string
		parts []string
	}{
		{"bad image", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(ecr)}, "ValidationException",
			[]string{"Image of InferenceSpecification.Containers[0] of model package " + ecr, "no container runtime", "file://", "http://", sm.SampleModelImage}},
		{"relative image path", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(relative)}, "ValidationException", []string{`"bin/server" cannot run on this host`}},
		{"image not executable", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(nonExec)}, "ValidationException", []string{"is not an executable file"}},
		{"missing payloads", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(missingPayloads)}, "ValidationException",
			[]string{"SamplePayloadUrl of model package " + missingPayloads, "no such file"}},
		{"s3 payloads", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(s3Payloads)}, "ValidationException", []string{"SamplePayloadUrl", "no S3 endpoint"}},
		{"s3 model data", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(s3Model)}, "ValidationException", []string{"ModelDataUrl of InferenceSpecification.Containers[0]", "no S3 endpoint"}},
		{"payload override", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: &types.RecommendationJobInputConfig{
			ModelPackageVersionArn: aws.String(good),
			ContainerConfig:        &types.RecommendationJobContainerConfig{PayloadConfig: &types.RecommendationJobPayloadConfig{SamplePayloadUrl: aws.String("s3://b/p.tar.gz")}}}},
			"ValidationException", []string{"InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl", "no S3 endpoint"}},
		{"unsupported URL scheme", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: &types.RecommendationJobInputConfig{
			ModelPackageVersionArn: aws.String(good),
			ContainerConfig:        &types.RecommendationJobContainerConfig{PayloadConfig: &types.RecommendationJobPayloadConfig{SamplePayloadUrl: aws.String("ftp://host/p.tar.gz")}}}},
			"ValidationException", []string{"inputConfig.containerConfig.payloadConfig.samplePayloadUrl"}},
		{"no payloads", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(noPayloads)}, "ValidationException", []string{"No sample payloads", "SamplePayloadUrl"}},
		{"unknown package", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: ic(packageArn("nope"))}, "ValidationException", []string{"does not exist"}},
		{"unknown model", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: &types.RecommendationJobInputConfig{ModelName: aws.String("nope")}},
			"ValidationException", []string{"Could not find model"}},
		{"no model", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: &types.RecommendationJobInputConfig{}}, "ValidationException",
			[]string{"ModelPackageVersionArn or ModelName is required"}},
		{"two models", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(good), ModelName: aws.String("m")}},
			"ValidationException", []string{"either ModelPackageVersionArn or ModelName, not both"}},
		{"existing endpoint", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: &types.RecommendationJobInputConfig{
			ModelPackageVersionArn: aws.String(good), Endpoints: []types.EndpointInfo{{EndpointName: aws.String("live")}}}},
			"ValidationException", []string{"InputConfig.Endpoints", "needs hosting, which this server does not offer yet"}},
		{"advanced without traffic", sagemaker.CreateInferenceRecommendationsJobInput{JobType: types.RecommendationJobTypeAdvanced, InputConfig: ic(good),
			StoppingConditions: &types.RecommendationJobStoppingConditions{ModelLatencyThresholds: []types.ModelLatencyThreshold{{Percentile: aws.String("P42"), ValueInMilliseconds: aws.Int32(10)}}}},
			"ValidationException", []string{"InputConfig.TrafficPattern: is required for an Advanced job", "StoppingConditions.ModelLatencyThresholds[0].Percentile", "; "}},
		{"serverless", sagemaker.CreateInferenceRecommendationsJobInput{InputConfig: &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(good),
			EndpointConfigurations: []types.EndpointInputConfiguration{{ServerlessConfig: &types.ProductionVariantServerlessConfig{MemorySizeInMB: aws.Int32(2048), MaxConcurrency: aws.Int32(1)}}}}},
			"ValidationException", []string{"InputConfig.EndpointConfigurations[0].ServerlessConfig"}},
		{"bad job name", sagemaker.CreateInferenceRecommendationsJobInput{JobName: aws.String("no_underscores"), InputConfig: ic(good)}, "ValidationException", []string{"jobName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.JobName == nil {
				in.JobName = aws.String("refused")
			}
			if in.JobType == "" {
				in.JobType = types.RecommendationJobTypeDefault
			}
			in.RoleArn = aws.String(jobRole)
			_, err := e.sm.CreateInferenceRecommendationsJob(e.ctx, &in)
			wantErrContaining(t, err, tt.code, tt.parts...)
		})
	}
	if out, err := e.sm.ListInferenceRecommendationsJobs(e.ctx, &sagemaker.ListInferenceRecommendationsJobsInput{}); err != nil || len(out.InferenceRecommendationsJobs) != 0 {
		t.Errorf("refused jobs were stored: %+v, %v", out, err)
	}

	missing := jobArn("missing")
	_, err := e.sm.DescribeInferenceRecommendationsJob(e.ctx, &sagemaker.DescribeInferenceRecommendationsJobInput{JobName: aws.String("missing")})
	wantErrContaining(t, err, "ResourceNotFound", missing)
	_, err = e.sm.StopInferenceRecommendationsJob(e.ctx, &sagemaker.StopInferenceRecommendationsJobInput{JobName: aws.String("missing")})
	wantErrContaining(t, err, "ResourceNotFound", missing)
	_, err = e.sm.ListInferenceRecommendationsJobSteps(e.ctx, &sagemaker.ListInferenceRecommendationsJobStepsInput{JobName: aws.String("missing")})
	wantErrContaining(t, err, "ResourceNotFound", missing)
	for _, in := range []sagemaker.GetScalingConfigurationRecommendationInput{
		{InferenceRecommendationsJobName: aws.String("missing"), RecommendationId: aws.String("missing/1")},
		{InferenceRecommendationsJobName: aws.String("missing"), RecommendationId: aws.String("x"), EndpointName: aws.String("y")},
		{InferenceRecommendationsJobName: aws.String("missing")},
	} {
		_, err := e.sm.GetScalingConfigurationRecommendation(e.ctx, &in)
		switch {
		case in.RecommendationId != nil && in.EndpointName != nil:
			wantErrContaining(t, err, "ValidationException", "either RecommendationId or EndpointName, not both")
		case in.RecommendationId == nil:
			wantErrContaining(t, err, "ValidationException", "RecommendationId or EndpointName is required")
		default:
			wantErrContaining(t, err, "ResourceNotFound", missing)
		}
	}

	// A job that is not finished has no scaling configuration yet.
	_, err = e.sm.CreateInferenceRecommendationsJob(e.ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName: aws.String("unfinished"), JobType: types.RecommendationJobTypeDefault, RoleArn: aws.String(jobRole),
		InputConfig: &types.RecommendationJobInputConfig{ModelPackageVersionArn: aws.String(slow), EndpointConfigurations: []types.EndpointInputConfiguration{{InstanceType: c8g}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.sm.GetScalingConfigurationRecommendation(e.ctx, &sagemaker.GetScalingConfigurationRecommendationInput{
		InferenceRecommendationsJobName: aws.String("unfinished"), EndpointName: aws.String("unfinished-ep0")})
	wantErrContaining(t, err, "ValidationException", "COMPLETED jobs only")
	if _, err := e.sm.StopInferenceRecommendationsJob(e.ctx, &sagemaker.StopInferenceRecommendationsJobInput{JobName: aws.String("unfinished")}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("unfinished", 20*time.Second, types.RecommendationJobStatusStopped)
	waitNoProcs(t, "job-errors", 10*time.Second)
}

// TestJobValidationMessage checks that every problem of a refused job is
// named on one line, "; " between them, also those of one member's parts
// (a TrafficPattern's Stairs, each of its Phases), and that an environment
// variable is given its values once.
func TestJobValidationMessage(t *testing.T) {
	t.Parallel()
	e := newJobEnv(t, 1)
	_, err := e.sm.CreateModel(e.ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("sample"), PrimaryContainer: &types.ContainerDefinition{Image: aws.String(sm.SampleModelImage)},
	})
	if err != nil {
		t.Fatal(err)
	}
	advanced := func(tp *types.TrafficPattern) *sagemaker.CreateInferenceRecommendationsJobInput {
		return &sagemaker.CreateInferenceRecommendationsJobInput{
			JobName: aws.String("refused"), JobType: types.RecommendationJobTypeAdvanced, RoleArn: aws.String(jobRole),
			InputConfig: &types.RecommendationJobInputConfig{ModelName: aws.String("sample"), TrafficPattern: tp,
				EndpointConfigurations: []types.EndpointInputConfiguration{{InstanceType: c8g}}},
			StoppingConditions: &types.RecommendationJobStoppingConditions{MaxInvocations: aws.Int32(-1)},
		}
	}
	for _, tt := range []struct {
		name string
		in   *sagemaker.CreateInferenceRecommendationsJobInput
		want string
	}{
		{"stairs", advanced(&types.TrafficPattern{TrafficType: types.TrafficTypeStairs, Stairs: &types.Stairs{}}),
			"InputConfig.TrafficPattern.Stairs.DurationInSeconds: must be at least 1, got 0; " +
				"InputConfig.TrafficPattern.Stairs.NumberOfSteps: must be at least 1, got 0; " +
				"InputConfig.TrafficPattern.Stairs.UsersPerStep: must be between 1 and 3, got 0; " +
				"StoppingConditions.MaxInvocations: must be positive, got -1"},
		{"phases", advanced(&types.TrafficPattern{TrafficType: types.TrafficTypePhases, Phases: []types.Phase{{}}}),
			"InputConfig.TrafficPattern.Phases[0].InitialNumberOfUsers: must be at least 1, got 0; " +
				"InputConfig.TrafficPattern.Phases[0].DurationInSeconds: must be at least 1, got 0; " +
				"StoppingConditions.MaxInvocations: must be positive, got -1"},
		{"one variable in two ranges", &sagemaker.CreateInferenceRecommendationsJobInput{
			JobName: aws.String("refused"), JobType: types.RecommendationJobTypeDefault, RoleArn: aws.String(jobRole),
			InputConfig: &types.RecommendationJobInputConfig{ModelName: aws.String("sample"), EndpointConfigurations: []types.EndpointInputConfiguration{
				{InstanceType: c8g, EnvironmentParameterRanges: &types.EnvironmentParameterRanges{CategoricalParameterRanges: []types.CategoricalParameter{
					{Name: aws.String("SAGEMAKER_MODEL_SERVER_WORKERS"), Value: []string{"1"}},
					{Name: aws.String("OMP_NUM_THREADS"), Value: []string{"1", "2", "1"}},
					{Name: aws.String("SAGEMAKER_MODEL_SERVER_WORKERS"), Value: []string{"2"}},
				}}}}}},
			`InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges.CategoricalParameterRanges[1].Value: lists "1" twice; ` +
				`InputConfig.EndpointConfigurations[0].EnvironmentParameterRanges.CategoricalParameterRanges[2].Name: ` +
				`"SAGEMAKER_MODEL_SERVER_WORKERS" is also CategoricalParameterRanges[0]: list all its values in one range`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.sm.CreateInferenceRecommendationsJob(e.ctx, tt.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != tt.want {
				t.Errorf("error %v,\nwant ValidationException: %s", err, tt.want)
			}
		})
	}
}
