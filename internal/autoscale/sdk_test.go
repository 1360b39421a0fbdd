package autoscale

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
)

const (
	testRegion  = "us-west-2"
	testAccount = api.DefaultAccount
	variantID   = "endpoint/my-endpoint/variant/my-variant"
)

// apiEnv is the service behind a real HTTP server, driven by the real
// aws-sdk-go-v2 Application Auto Scaling client.
type apiEnv struct {
	svc     *Service
	cap     *testCapacity
	alarms  *testAlarms
	metrics *metrics.Store
	client  *aas.Client
	ctx     context.Context
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	e := &apiEnv{cap: newTestCapacity(), alarms: newTestAlarms(), metrics: metrics.New(metrics.Options{})}
	e.cap.add(testAccount, testRegion, variantID, 1)
	e.svc = &Service{Store: st, Capacity: e.cap, Alarms: e.alarms, Metrics: e.metrics, PollInterval: 5 * time.Millisecond}
	svc := e.svc.NewAPI()
	svc.CheckOutput = true
	rt := &api.Router{}
	if err := rt.Add(svc); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	e.client = aas.NewFromConfig(aws.Config{
		Region: testRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *aas.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx
	return e
}

func (e *apiEnv) register(t *testing.T, id string, min, max int32) string {
	t.Helper()
	out, err := e.client.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(id),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		MinCapacity:       aws.Int32(min), MaxCapacity: aws.Int32(max),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ScalableTargetARN)
}

// invocationsPolicy is SageMaker's documented example policy.
func invocationsPolicy(name string) *aas.PutScalingPolicyInput {
	return &aas.PutScalingPolicyInput{
		PolicyName: aws.String(name), ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		PolicyType:        types.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{
			TargetValue: aws.Float64(70),
			PredefinedMetricSpecification: &types.PredefinedMetricSpecification{
				PredefinedMetricType: types.MetricTypeSageMakerVariantInvocationsPerInstance},
			ScaleInCooldown: aws.Int32(600), ScaleOutCooldown: aws.Int32(300),
		},
	}
}

// wantAPIError checks an error's code and that its message contains msg.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error; want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error %s: %q; want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// The commands of SageMaker's auto scaling documentation, as SDK calls.
func TestSageMakerDocumentedPolicies(t *testing.T) {
	e := newAPIEnv(t)
	targetARN := e.register(t, variantID, 1, 8)
	if !regexp.MustCompile(`^arn:aws:application-autoscaling:us-west-2:123456789012:scalable-target/[0-9a-f]{36}$`).MatchString(targetARN) {
		t.Errorf("ScalableTargetARN %s", targetARN)
	}

	out, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("my-scaling-policy"))
	if err != nil {
		t.Fatal(err)
	}
	policyRE := regexp.MustCompile(`^arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:[0-9a-f-]{36}:resource/sagemaker/endpoint/my-endpoint/variant/my-variant:policyName/my-scaling-policy$`)
	if !policyRE.MatchString(aws.ToString(out.PolicyARN)) {
		t.Errorf("PolicyARN %s", aws.ToString(out.PolicyARN))
	}
	if len(out.Alarms) != 2 {
		t.Fatalf("Alarms %+v", out.Alarms)
	}
	alarmRE := regexp.MustCompile(`^TargetTracking-endpoint/my-endpoint/variant/my-variant-Alarm(High|Low)-[0-9a-f-]{36}$`)
	for i, kind := range []string{"High", "Low"} {
		a := out.Alarms[i]
		name := aws.ToString(a.AlarmName)
		if m := alarmRE.FindStringSubmatch(name); m == nil || m[1] != kind {
			t.Errorf("alarm %d name %s, want the Alarm%s form", i, name, kind)
		}
		if aws.ToString(a.AlarmARN) != "arn:aws:cloudwatch:us-west-2:123456789012:alarm:"+name {
			t.Errorf("alarm ARN %s", aws.ToString(a.AlarmARN))
		}
		spec, ok := e.alarms.get(testAccount, testRegion, name)
		if !ok {
			t.Fatalf("alarm %s not in CloudWatch", name)
		}
		threshold, evals := 70.0, int32(3)
		if kind == "Low" {
			threshold, evals = 63, 15
		}
		if spec.MetricName != "InvocationsPerInstance" || spec.Namespace != "AWS/SageMaker" || spec.Statistic != "Sum" ||
			spec.Period != 60 || spec.EvaluationPeriods != evals || spec.DatapointsToAlarm != evals ||
			math.Abs(*spec.Threshold-threshold) > 1e-9 || len(spec.AlarmActions) != 1 || spec.AlarmActions[0] != aws.ToString(out.PolicyARN) {
			t.Errorf("alarm %s spec %+v", name, spec)
		}
	}

	// The CPUUtilization customized metric of the documentation.
	cpu, err := e.client.PutScalingPolicy(e.ctx, &aas.PutScalingPolicyInput{
		PolicyName: aws.String("cpu50"), ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		PolicyType:        types.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{
			TargetValue: aws.Float64(50),
			CustomizedMetricSpecification: &types.CustomizedMetricSpecification{
				MetricName: aws.String("CPUUtilization"), Namespace: aws.String("/aws/sagemaker/Endpoints"),
				Dimensions: []types.MetricDimension{
					{Name: aws.String("EndpointName"), Value: aws.String("my-endpoint")},
					{Name: aws.String("VariantName"), Value: aws.String("my-variant")},
				},
				Statistic: types.MetricStatisticAverage, Unit: aws.String("Percent"),
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := e.alarms.get(testAccount, testRegion, aws.ToString(cpu.Alarms[0].AlarmName))
	if spec.MetricName != "CPUUtilization" || spec.Namespace != "/aws/sagemaker/Endpoints" || spec.Statistic != "Average" ||
		spec.Unit != "Percent" || len(spec.Dimensions) != 2 || *spec.Threshold != 50 {
		t.Errorf("CPU alarm %+v", spec)
	}

	// DescribeScalingPolicies shows both, by name, with their alarms.
	d, err := e.client.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ScalingPolicies) != 2 || aws.ToString(d.ScalingPolicies[0].PolicyName) != "cpu50" ||
		aws.ToString(d.ScalingPolicies[1].PolicyName) != "my-scaling-policy" {
		t.Fatalf("policies %+v", d.ScalingPolicies)
	}
	p := d.ScalingPolicies[1]
	cfg := p.TargetTrackingScalingPolicyConfiguration
	if p.PolicyType != types.PolicyTypeTargetTrackingScaling || aws.ToFloat64(cfg.TargetValue) != 70 ||
		aws.ToInt32(cfg.ScaleInCooldown) != 600 || aws.ToInt32(cfg.ScaleOutCooldown) != 300 ||
		cfg.PredefinedMetricSpecification.PredefinedMetricType != types.MetricTypeSageMakerVariantInvocationsPerInstance ||
		len(p.Alarms) != 2 || aws.ToString(p.PolicyARN) != aws.ToString(out.PolicyARN) || p.CreationTime == nil {
		t.Errorf("policy %+v", p)
	}

	// Updating the policy keeps its ARN and alarm names and updates the alarms.
	upd := invocationsPolicy("my-scaling-policy")
	upd.TargetTrackingScalingPolicyConfiguration.TargetValue = aws.Float64(100)
	out2, err := e.client.PutScalingPolicy(e.ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out2.PolicyARN) != aws.ToString(out.PolicyARN) || aws.ToString(out2.Alarms[0].AlarmName) != aws.ToString(out.Alarms[0].AlarmName) {
		t.Errorf("update changed ARN or alarms: %+v", out2)
	}
	if s, _ := e.alarms.get(testAccount, testRegion, aws.ToString(out.Alarms[1].AlarmName)); *s.Threshold != 90 {
		t.Errorf("low alarm threshold %g after update, want 90", *s.Threshold)
	}
	// DisableScaleIn drops the low alarm.
	upd.TargetTrackingScalingPolicyConfiguration.DisableScaleIn = aws.Bool(true)
	out3, err := e.client.PutScalingPolicy(e.ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if len(out3.Alarms) != 1 {
		t.Errorf("alarms with DisableScaleIn: %+v", out3.Alarms)
	}
	if _, ok := e.alarms.get(testAccount, testRegion, aws.ToString(out.Alarms[1].AlarmName)); ok {
		t.Error("low alarm kept with DisableScaleIn")
	}

	// Deleting a policy deletes its alarms.
	if _, err := e.client.DeleteScalingPolicy(e.ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("cpu50"),
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.alarms.get(testAccount, testRegion, aws.ToString(cpu.Alarms[0].AlarmName)); ok {
		t.Error("alarm of a deleted policy remains")
	}
}

func TestScalableTargets(t *testing.T) {
	e := newAPIEnv(t)
	ids := []string{"endpoint/a/variant/v1", "endpoint/b/variant/v1", "endpoint/c/variant/v1", "endpoint/d/variant/v1", "endpoint/e/variant/v1"}
	for _, id := range ids {
		e.cap.add(testAccount, testRegion, id, 1)
		e.register(t, id, 1, 4)
	}
	// Pages of 2.
	var got []string
	pg := aas.NewDescribeScalableTargetsPaginator(e.client, &aas.DescribeScalableTargetsInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, MaxResults: aws.Int32(2)})
	pages := 0
	for pg.HasMorePages() {
		out, err := pg.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tg := range out.ScalableTargets {
			got = append(got, aws.ToString(tg.ResourceId))
		}
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") || pages != 3 {
		t.Errorf("paged targets %v in %d pages", got, pages)
	}

	// Filter, and the shape of a target.
	out, err := e.client.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceIds: []string{"endpoint/c/variant/v1"},
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ScalableTargets) != 1 {
		t.Fatalf("filtered %+v", out.ScalableTargets)
	}
	tg := out.ScalableTargets[0]
	if aws.ToInt32(tg.MinCapacity) != 1 || aws.ToInt32(tg.MaxCapacity) != 4 || tg.SuspendedState == nil ||
		aws.ToBool(tg.SuspendedState.DynamicScalingInSuspended) || tg.CreationTime == nil ||
		aws.ToString(tg.RoleARN) != "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint" {
		t.Errorf("target %+v", tg)
	}

	// Upsert: only what is given changes.
	if _, err := e.client.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String("endpoint/c/variant/v1"),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		MaxCapacity:       aws.Int32(9), SuspendedState: &types.SuspendedState{ScheduledScalingSuspended: aws.Bool(true)},
	}); err != nil {
		t.Fatal(err)
	}
	out, _ = e.client.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceIds: []string{"endpoint/c/variant/v1"}})
	tg2 := out.ScalableTargets[0]
	if aws.ToInt32(tg2.MinCapacity) != 1 || aws.ToInt32(tg2.MaxCapacity) != 9 || !aws.ToBool(tg2.SuspendedState.ScheduledScalingSuspended) ||
		aws.ToBool(tg2.SuspendedState.DynamicScalingOutSuspended) || aws.ToString(tg2.ScalableTargetARN) != aws.ToString(tg.ScalableTargetARN) ||
		!aws.ToTime(tg2.CreationTime).Equal(aws.ToTime(tg.CreationTime)) {
		t.Errorf("after update %+v", tg2)
	}

	// Deregistering removes policies (and their alarms) and scheduled actions.
	e.cap.add(testAccount, testRegion, variantID, 1)
	e.register(t, variantID, 1, 8)
	if _, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("p")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension:   types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		ScheduledActionName: aws.String("nightly"), Schedule: aws.String("cron(0 22 * * ? *)"),
		ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeregisterScalableTarget(e.ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.alarms.names()); n != 0 {
		t.Errorf("%d alarms left after deregistering", n)
	}
	pol, _ := e.client.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: types.ServiceNamespaceSagemaker})
	sch, _ := e.client.DescribeScheduledActions(e.ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: types.ServiceNamespaceSagemaker})
	if len(pol.ScalingPolicies) != 0 || len(sch.ScheduledActions) != 0 {
		t.Errorf("left after deregistering: %+v %+v", pol.ScalingPolicies, sch.ScheduledActions)
	}
	_, err = e.client.DeregisterScalableTarget(e.ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount})
	wantAPIError(t, err, "ObjectNotFoundException", "No scalable target registered for service namespace: sagemaker, resource ID: endpoint/my-endpoint/variant/my-variant")
}

func TestAPIErrors(t *testing.T) {
	e := newAPIEnv(t)
	dim := types.ScalableDimensionSageMakerVariantDesiredInstanceCount
	reg := func(ns types.ServiceNamespace, id string, d types.ScalableDimension, min, max *int32) error {
		_, err := e.client.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{
			ServiceNamespace: ns, ResourceId: aws.String(id), ScalableDimension: d, MinCapacity: min, MaxCapacity: max})
		return err
	}
	tests := []struct {
		name      string
		call      func() error
		code, msg string
	}{
		{"other namespace", func() error {
			return reg(types.ServiceNamespaceEcs, "service/c/s", types.ScalableDimensionECSServiceDesiredCount, aws.Int32(1), aws.Int32(2))
		},
			"ValidationException", "inferscale supports ServiceNamespace sagemaker"},
		{"other dimension", func() error {
			return reg(types.ServiceNamespaceSagemaker, variantID, types.ScalableDimensionSageMakerVariantDesiredProvisionedConcurrency, aws.Int32(1), aws.Int32(2))
		}, "ValidationException", "scalable dimension sagemaker:variant:DesiredProvisionedConcurrency"},
		{"bad resource id", func() error {
			return reg(types.ServiceNamespaceSagemaker, "endpoint/x", dim, aws.Int32(1), aws.Int32(2))
		},
			"ValidationException", "resource ID endpoint/x"},
		{"missing variant", func() error {
			return reg(types.ServiceNamespaceSagemaker, "endpoint/none/variant/v", dim, aws.Int32(1), aws.Int32(2))
		},
			"ValidationException", "does not exist"},
		{"new target without bounds", func() error { return reg(types.ServiceNamespaceSagemaker, variantID, dim, aws.Int32(1), nil) },
			"ValidationException", "MinCapacity and MaxCapacity are required"},
		{"min above max", func() error { return reg(types.ServiceNamespaceSagemaker, variantID, dim, aws.Int32(3), aws.Int32(2)) },
			"ValidationException", "cannot be greater than maximum capacity"},
		{"minimum of 0", func() error { return reg(types.ServiceNamespaceSagemaker, variantID, dim, aws.Int32(0), aws.Int32(2)) },
			"ValidationException", "MinCapacity 0 is below 1: a SageMaker production variant (sagemaker:variant:DesiredInstanceCount) keeps at least 1 instance"},
		{"maximum of 0", func() error { return reg(types.ServiceNamespaceSagemaker, variantID, dim, nil, aws.Int32(0)) },
			"ValidationException", "MaxCapacity 0 is below 1"},
		{"model validation", func() error { return reg(types.ServiceNamespaceSagemaker, "", dim, aws.Int32(1), aws.Int32(2)) },
			"ValidationException", "resourceId"},
		{"policy without target", func() error { _, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("p")); return err },
			"ObjectNotFoundException", "No scalable target registered for service namespace: sagemaker"},
		{"bad token", func() error {
			_, err := e.client.DescribeScalableTargets(e.ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: types.ServiceNamespaceSagemaker, NextToken: aws.String("!!")})
			return err
		}, "InvalidNextTokenException", "NextToken"},
		{"max results", func() error {
			_, err := e.client.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: types.ServiceNamespaceSagemaker, MaxResults: aws.Int32(11)})
			return err
		}, "ValidationException", "between 1 and 10"},
		{"dimension without resource", func() error {
			_, err := e.client.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: types.ServiceNamespaceSagemaker, ScalableDimension: dim})
			return err
		}, "ValidationException", "must also specify a resource ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.call(), tc.code, tc.msg) })
	}

	// With a target: policy and scheduled action validation.
	e.register(t, variantID, 1, 8)
	put := func(mut func(*aas.PutScalingPolicyInput)) error {
		in := invocationsPolicy("p")
		mut(in)
		_, err := e.client.PutScalingPolicy(e.ctx, in)
		return err
	}
	stepIn := func(steps ...types.StepAdjustment) func(*aas.PutScalingPolicyInput) {
		return func(in *aas.PutScalingPolicyInput) {
			in.PolicyType, in.TargetTrackingScalingPolicyConfiguration = types.PolicyTypeStepScaling, nil
			in.StepScalingPolicyConfiguration = &types.StepScalingPolicyConfiguration{
				AdjustmentType: types.AdjustmentTypeChangeInCapacity, StepAdjustments: steps}
		}
	}
	sched := func(expr, tz string, action *types.ScalableTargetAction) error {
		in := &aas.PutScheduledActionInput{
			ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID), ScalableDimension: dim,
			ScheduledActionName: aws.String("s"), Schedule: aws.String(expr), ScalableTargetAction: action}
		if tz != "" {
			in.Timezone = aws.String(tz)
		}
		_, err := e.client.PutScheduledAction(e.ctx, in)
		return err
	}
	okAction := &types.ScalableTargetAction{MinCapacity: aws.Int32(2)}
	more := []struct {
		name      string
		err       error
		code, msg string
	}{
		{"serverless metric on an instance variant", put(func(in *aas.PutScalingPolicyInput) {
			in.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType = types.MetricTypeSageMakerVariantProvisionedConcurrencyUtilization
		}), "ValidationException", "SageMakerVariantProvisionedConcurrencyUtilization is not supported"},
		{"no metric", put(func(in *aas.PutScalingPolicyInput) {
			in.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification = nil
		}),
			"ValidationException", "Either PredefinedMetricSpecification or CustomizedMetricSpecification"},
		{"zero target", put(func(in *aas.PutScalingPolicyInput) {
			in.TargetTrackingScalingPolicyConfiguration.TargetValue = aws.Float64(0)
		}),
			"ValidationException", "TargetValue"},
		{"target above 2^360", put(func(in *aas.PutScalingPolicyInput) {
			in.TargetTrackingScalingPolicyConfiguration.TargetValue = aws.Float64(1e200)
		}), "ValidationException", "TargetValue must be in the range of -2^360 to 2^360"},
		{"step bound above 2^360", put(stepIn(
			types.StepAdjustment{MetricIntervalUpperBound: aws.Float64(0), ScalingAdjustment: aws.Int32(-1)},
			types.StepAdjustment{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(1e200), ScalingAdjustment: aws.Int32(1)},
			types.StepAdjustment{MetricIntervalLowerBound: aws.Float64(1e200), ScalingAdjustment: aws.Int32(2)},
		)), "ValidationException", "MetricIntervalUpperBound must be in the range of -2^360 to 2^360"},
		{"no policy type", put(func(in *aas.PutScalingPolicyInput) { in.PolicyType = "" }), "ValidationException", "PolicyType is required"},
		{"metric math with two results", put(func(in *aas.PutScalingPolicyInput) {
			in.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification = nil
			in.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification = &types.CustomizedMetricSpecification{
				Metrics: []types.TargetTrackingMetricDataQuery{
					{Id: aws.String("m1"), MetricStat: &types.TargetTrackingMetricStat{Stat: aws.String("Sum"),
						Metric: &types.TargetTrackingMetric{Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("Invocations")}}},
					{Id: aws.String("e1"), Expression: aws.String("m1 / 2")},
				}}
		}), "ValidationException", "Exactly one metric data query must return data"},
		{"step gap", put(stepIn(
			types.StepAdjustment{MetricIntervalLowerBound: aws.Float64(0), MetricIntervalUpperBound: aws.Float64(10), ScalingAdjustment: aws.Int32(1)},
			types.StepAdjustment{MetricIntervalLowerBound: aws.Float64(20), ScalingAdjustment: aws.Int32(2)},
		)), "ValidationException", "gaps"},
		{"step without steps", put(stepIn()), "ValidationException", "At least one step adjustment"},
		{"bad cron", sched("cron(0 9 * * *)", "", okAction), "ValidationException", "invalid schedule expression"},
		{"bad time zone", sched("cron(0 9 * * ? *)", "Mars/Base", okAction), "ValidationException", "not a valid IANA time zone"},
		{"the server's time zone", sched("cron(0 9 * * ? *)", "Local", okAction), "ValidationException", "not a valid IANA time zone"},
		{"no action", sched("rate(1 hour)", "", nil), "ValidationException", "ScalableTargetAction"},
		{"action minimum of 0", sched("rate(1 hour)", "", &types.ScalableTargetAction{MinCapacity: aws.Int32(0)}), "ValidationException", "MinCapacity 0 is below 1"},
		{"action min above max", sched("rate(1 hour)", "", &types.ScalableTargetAction{MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(1)}),
			"ValidationException", "cannot be greater"},
	}
	for _, tc := range more {
		t.Run(tc.name, func(t *testing.T) { wantAPIError(t, tc.err, tc.code, tc.msg) })
	}
	_, err := e.client.DeleteScalingPolicy(e.ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("none"),
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID), ScalableDimension: dim})
	wantAPIError(t, err, "ObjectNotFoundException", "No scaling policy found for service namespace: sagemaker, resource ID: endpoint/my-endpoint/variant/my-variant, scalable dimension: sagemaker:variant:DesiredInstanceCount, policy name: none")
	_, err = e.client.DeleteScheduledAction(e.ctx, &aas.DeleteScheduledActionInput{ScheduledActionName: aws.String("none"),
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID), ScalableDimension: dim})
	wantAPIError(t, err, "ObjectNotFoundException", "scheduled action name: none")
}

func TestLimits(t *testing.T) {
	e := newAPIEnv(t)
	e.register(t, variantID, 1, 8)
	dim := types.ScalableDimensionSageMakerVariantDesiredInstanceCount
	step := func(name string) *aas.PutScalingPolicyInput {
		return &aas.PutScalingPolicyInput{PolicyName: aws.String(name), ServiceNamespace: types.ServiceNamespaceSagemaker,
			ResourceId: aws.String(variantID), ScalableDimension: dim, PolicyType: types.PolicyTypeStepScaling,
			StepScalingPolicyConfiguration: &types.StepScalingPolicyConfiguration{AdjustmentType: types.AdjustmentTypeChangeInCapacity,
				StepAdjustments: []types.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}}}}
	}
	for i := range 50 {
		if _, err := e.client.PutScalingPolicy(e.ctx, step(fmt.Sprintf("p%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.client.PutScalingPolicy(e.ctx, step("p50"))
	wantAPIError(t, err, "LimitExceededException", "scaling policies (50)")
	// Updating an existing policy is not a new one.
	if _, err := e.client.PutScalingPolicy(e.ctx, step("p07")); err != nil {
		t.Fatal(err)
	}
	// All 50 through DescribeScalingPolicies' pages of 10.
	n := 0
	pg := aas.NewDescribeScalingPoliciesPaginator(e.client, &aas.DescribeScalingPoliciesInput{ServiceNamespace: types.ServiceNamespaceSagemaker})
	for pg.HasMorePages() {
		out, err := pg.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ScalingPolicies) > 10 {
			t.Errorf("page of %d policies", len(out.ScalingPolicies))
		}
		n += len(out.ScalingPolicies)
	}
	if n != 50 {
		t.Errorf("described %d policies, want 50", n)
	}

	for i := range 200 {
		if _, err := e.client.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
			ResourceId: aws.String(variantID), ScalableDimension: dim, ScheduledActionName: aws.String(fmt.Sprintf("a%03d", i)),
			Schedule: aws.String("rate(1 day)"), ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.client.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
		ResourceId: aws.String(variantID), ScalableDimension: dim, ScheduledActionName: aws.String("a200"),
		Schedule: aws.String("rate(1 day)"), ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(1)}})
	wantAPIError(t, err, "LimitExceededException", "scheduled actions (200)")
}

func TestTags(t *testing.T) {
	e := newAPIEnv(t)
	out, err := e.client.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		MinCapacity:       aws.Int32(1), MaxCapacity: aws.Int32(8), Tags: map[string]string{"team": "ml"},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.ScalableTargetARN
	if _, err := e.client.TagResource(e.ctx, &aas.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"env": "prod", "team": "search"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagResource(e.ctx, &aas.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	l, err := e.client.ListTagsForResource(e.ctx, &aas.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Tags) != 1 || l.Tags["team"] != "search" {
		t.Errorf("tags %v", l.Tags)
	}
	other := aws.String("arn:aws:application-autoscaling:us-west-2:123456789012:scalable-target/0123456789abcdef0123456789abcdef0123")
	_, err = e.client.ListTagsForResource(e.ctx, &aas.ListTagsForResourceInput{ResourceARN: other})
	wantAPIError(t, err, "ResourceNotFoundException", "not found")
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.ResourceName) != aws.ToString(other) {
		t.Errorf("ResourceName of %v", err)
	}
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = e.client.TagResource(e.ctx, &aas.TagResourceInput{ResourceARN: arn, Tags: many})
	wantAPIError(t, err, "TooManyTagsException", "at most 50 tags")
	_, err = e.client.TagResource(e.ctx, &aas.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"aws:x": "v"}})
	wantAPIError(t, err, "ValidationException", "reserved prefix")
}

func TestScheduledActionsAPI(t *testing.T) {
	e := newAPIEnv(t)
	e.register(t, variantID, 1, 8)
	dim := types.ScalableDimensionSageMakerVariantDesiredInstanceCount
	start, end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := e.client.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
		ResourceId: aws.String(variantID), ScalableDimension: dim, ScheduledActionName: aws.String("business-hours"),
		Schedule: aws.String("cron(0 9 ? * MON-FRI *)"), Timezone: aws.String("America/New_York"),
		StartTime: aws.Time(start), EndTime: aws.Time(end),
		ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(4), MaxCapacity: aws.Int32(8)}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeScheduledActions(e.ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
		ResourceId: aws.String(variantID), ScalableDimension: dim, ScheduledActionNames: []string{"business-hours"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ScheduledActions) != 1 {
		t.Fatalf("actions %+v", out.ScheduledActions)
	}
	a := out.ScheduledActions[0]
	arnRE := regexp.MustCompile(`^arn:aws:autoscaling:us-west-2:123456789012:scheduledAction:[0-9a-f-]{36}:resource/sagemaker/endpoint/my-endpoint/variant/my-variant:scheduledActionName/business-hours$`)
	if !arnRE.MatchString(aws.ToString(a.ScheduledActionARN)) || aws.ToString(a.Schedule) != "cron(0 9 ? * MON-FRI *)" ||
		aws.ToString(a.Timezone) != "America/New_York" || !aws.ToTime(a.StartTime).Equal(start) || !aws.ToTime(a.EndTime).Equal(end) ||
		aws.ToInt32(a.ScalableTargetAction.MinCapacity) != 4 || aws.ToInt32(a.ScalableTargetAction.MaxCapacity) != 8 || a.CreationTime == nil {
		t.Errorf("action %+v", a)
	}
	// A policy on the same resource has the same identifier in its ARN, as
	// AWS's do (botocore's examples).
	pol, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("alongside"))
	if err != nil {
		t.Fatal(err)
	}
	if id := func(arn *string) string { return strings.Split(aws.ToString(arn), ":")[6] }; id(pol.PolicyARN) != id(a.ScheduledActionARN) {
		t.Errorf("policy %s and scheduled action %s: different resource identifiers", aws.ToString(pol.PolicyARN), aws.ToString(a.ScheduledActionARN))
	}
	// An update without start and end times deletes them and keeps the rest.
	if _, err := e.client.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
		ResourceId: aws.String(variantID), ScalableDimension: dim, ScheduledActionName: aws.String("business-hours"),
		ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(2)}}); err != nil {
		t.Fatal(err)
	}
	out, _ = e.client.DescribeScheduledActions(e.ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: types.ServiceNamespaceSagemaker})
	b := out.ScheduledActions[0]
	if b.StartTime != nil || b.EndTime != nil || aws.ToString(b.Schedule) != "cron(0 9 ? * MON-FRI *)" ||
		aws.ToString(b.Timezone) != "America/New_York" || aws.ToInt32(b.ScalableTargetAction.MinCapacity) != 2 ||
		b.ScalableTargetAction.MaxCapacity != nil || aws.ToString(b.ScheduledActionARN) != aws.ToString(a.ScheduledActionARN) {
		t.Errorf("after update %+v", b)
	}
	if _, err := e.client.DeleteScheduledAction(e.ctx, &aas.DeleteScheduledActionInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
		ResourceId: aws.String(variantID), ScalableDimension: dim, ScheduledActionName: aws.String("business-hours")}); err != nil {
		t.Fatal(err)
	}
}

// With the controller running: RegisterScalableTarget brings the capacity
// within the bounds, as a scaling activity.
func TestRegisterClampsCapacity(t *testing.T) {
	e := newAPIEnv(t)
	stop := run(t, e.svc, nil)
	defer stop()
	e.register(t, variantID, 2, 8)
	acts := waitActivities(t, e, func(as []types.ScalingActivity) bool {
		return len(as) == 1 && as[0].StatusCode == types.ScalingActivityStatusCodeSuccessful
	})
	a := acts[0]
	if aws.ToString(a.Description) != "Setting desired instance count to 2." || aws.ToString(a.Cause) != "minimum capacity was set to 2" ||
		aws.ToString(a.StatusMessage) != "Successfully set desired instance count to 2. Change successfully fulfilled by sagemaker." ||
		a.EndTime == nil || aws.ToString(a.ResourceId) != variantID || a.ServiceNamespace != types.ServiceNamespaceSagemaker {
		t.Errorf("activity %+v", a)
	}
	if d, _ := e.cap.state(testAccount, testRegion, variantID); d != 2 {
		t.Errorf("desired %d, want 2", d)
	}
	// Lowering the maximum below the capacity scales in.
	if _, err := e.client.RegisterScalableTarget(e.ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
		ResourceId: aws.String(variantID), ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	acts = waitActivities(t, e, func(as []types.ScalingActivity) bool {
		return len(as) == 2 && as[0].StatusCode == types.ScalingActivityStatusCodeSuccessful
	})
	if aws.ToString(acts[0].Cause) != "maximum capacity was set to 1" || aws.ToString(acts[0].Description) != "Setting desired instance count to 1." {
		t.Errorf("newest activity %+v", acts[0])
	}
}

// waitActivities polls DescribeScalingActivities (bounded) until ok.
func waitActivities(t *testing.T, e *apiEnv, ok func([]types.ScalingActivity) bool) []types.ScalingActivity {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := e.client.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
			ResourceId: aws.String(variantID), ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
			IncludeNotScaledActivities: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if ok(out.ScalingActivities) {
			return out.ScalingActivities
		}
		if time.Now().After(deadline) {
			t.Fatalf("activities never matched: %+v", out.ScalingActivities)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPredictiveForecast(t *testing.T) {
	e := newAPIEnv(t)
	e.register(t, variantID, 1, 20)
	dim := types.ScalableDimensionSageMakerVariantDesiredInstanceCount
	if _, err := e.client.PutScalingPolicy(e.ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("forecast"),
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID), ScalableDimension: dim,
		PolicyType: types.PolicyTypePredictiveScaling,
		PredictiveScalingPolicyConfiguration: &types.PredictiveScalingPolicyConfiguration{
			Mode: types.PredictiveScalingModeForecastOnly,
			MetricSpecifications: []types.PredictiveScalingMetricSpecification{{TargetValue: aws.Float64(70),
				PredefinedMetricPairSpecification: &types.PredictiveScalingPredefinedMetricPairSpecification{
					PredefinedMetricType: aws.String("SageMakerVariantInvocationsPerInstance")}}},
		}}); err != nil {
		t.Fatal(err)
	}
	forecast := func(from, to time.Time) *aas.GetPredictiveScalingForecastOutput {
		out, err := e.client.GetPredictiveScalingForecast(e.ctx, &aas.GetPredictiveScalingForecastInput{
			ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID), ScalableDimension: dim,
			PolicyName: aws.String("forecast"), StartTime: aws.Time(from), EndTime: aws.Time(to)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	now := time.Now().UTC()
	hour := now.Truncate(time.Hour)
	// No history yet: empty forecasts.
	if out := forecast(hour, hour.Add(24*time.Hour)); len(out.LoadForecast) != 1 || len(out.LoadForecast[0].Values) != 0 ||
		len(out.CapacityForecast.Values) != 0 {
		t.Errorf("forecast without history %+v", out)
	}
	// 14 days of Invocations, one statistic set per minute.
	dims := []metrics.Dimension{{Name: "EndpointName", Value: "my-endpoint"}, {Name: "VariantName", Value: "my-variant"}}
	for m := hour.Add(-14 * 24 * time.Hour); m.Before(hour); m = m.Add(time.Minute) {
		perMin := syntheticLoad(m, nil) * 20 / 60 // per hour: 20 × the synthetic load
		if err := e.metrics.In(cloudwatch.MetricsScope(testAccount, testRegion)).PutStatistics("AWS/SageMaker", "Invocations", dims,
			metrics.StatisticSet{SampleCount: perMin, Sum: perMin, Minimum: 1, Maximum: 1}, "Count", m); err != nil {
			t.Fatal(err)
		}
	}
	out := forecast(hour, hour.Add(72*time.Hour))
	lf := out.LoadForecast[0]
	if n := len(lf.Timestamps); n < 48 || n > 49 || len(lf.Values) != n || len(out.CapacityForecast.Values) != n {
		t.Fatalf("forecast of %d hours (48 ahead of now at most): %+v", n, out)
	}
	if aws.ToFloat64(lf.MetricSpecification.TargetValue) != 70 || out.UpdateTime == nil {
		t.Errorf("forecast metadata %+v", lf.MetricSpecification)
	}
	for i, ts := range lf.Timestamps {
		want := syntheticLoad(ts, nil) * 20
		if math.Abs(lf.Values[i]-want) > 0.02*want {
			t.Errorf("%v: load %g, want %g", ts, lf.Values[i], want)
		}
		// 70 invocations per instance per minute.
		wantCap := math.Max(1, math.Min(20, math.Ceil(lf.Values[i]/(70*60)-1e-9)))
		if out.CapacityForecast.Values[i] != wantCap || !out.CapacityForecast.Timestamps[i].Equal(ts) {
			t.Errorf("%v: capacity %g, want %g", ts, out.CapacityForecast.Values[i], wantCap)
		}
	}
	// Forecasts are only for predictive policies.
	if _, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("tt")); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.GetPredictiveScalingForecast(e.ctx, &aas.GetPredictiveScalingForecastInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID), ScalableDimension: dim,
		PolicyName: aws.String("tt"), StartTime: aws.Time(hour), EndTime: aws.Time(hour.Add(time.Hour))})
	wantAPIError(t, err, "ValidationException", "forecasts are for PredictiveScaling policies")
}
