package sagemaker_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/inferscale/inferscale/internal/hosting"
)

// TestTerraformLifecycle replays the calls Terraform's AWS provider makes
// for aws_appautoscaling_target, aws_appautoscaling_policy,
// aws_appautoscaling_scheduled_action and aws_cloudwatch_metric_alarm:
// create, read back by the filters the provider uses (what it compares
// with the configuration to plan: an empty plan needs every argument back
// as it was given), update in place, and delete, after which reads find
// nothing and deletes report not found (which the provider treats as
// gone). The Terraform CLI itself cannot be installed on this machine.
func TestTerraformLifecycle(t *testing.T) {
	e := newHostEnv(t, func(o *hosting.Options) {})
	ctx := e.ctx
	cfg := e.awsConfig()
	aas := applicationautoscaling.NewFromConfig(cfg, func(o *applicationautoscaling.Options) { o.BaseEndpoint = aws.String(e.url) })
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(e.url) })

	e.createModel("tf", map[string]string{"INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "1ms"})
	e.hostOneVariant("tf", "tf")
	const resource = "endpoint/tf/variant/main"
	ns, dim := aastypes.ServiceNamespaceSagemaker, aastypes.ScalableDimensionSageMakerVariantDesiredInstanceCount

	// aws_appautoscaling_target: RegisterScalableTarget with tags, then
	// DescribeScalableTargets by ResourceIds and ListTagsForResource.
	if _, err := aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(3), Tags: map[string]string{"team": "ml"},
	}); err != nil {
		t.Fatal(err)
	}
	readTarget := func() *aastypes.ScalableTarget {
		out, err := aas.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{
			ServiceNamespace: ns, ScalableDimension: dim, ResourceIds: []string{resource}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ScalableTargets) == 0 {
			return nil
		}
		return &out.ScalableTargets[0]
	}
	target := readTarget()
	if target == nil || aws.ToInt32(target.MinCapacity) != 1 || aws.ToInt32(target.MaxCapacity) != 3 || aws.ToString(target.ScalableTargetARN) == "" {
		t.Fatalf("target read back: %+v", target)
	}
	tags, err := aas.ListTagsForResource(ctx, &applicationautoscaling.ListTagsForResourceInput{ResourceARN: target.ScalableTargetARN})
	if err != nil || !reflect.DeepEqual(tags.Tags, map[string]string{"team": "ml"}) {
		t.Fatalf("tags %v, %v", tags, err)
	}
	// Update in place: a new maximum, a changed tag.
	if _, err := aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := aas.TagResource(ctx, &applicationautoscaling.TagResourceInput{ResourceARN: target.ScalableTargetARN, Tags: map[string]string{"team": "infra"}}); err != nil {
		t.Fatal(err)
	}
	if got := readTarget(); aws.ToInt32(got.MaxCapacity) != 4 || !aws.ToTime(got.CreationTime).Equal(aws.ToTime(target.CreationTime)) {
		t.Errorf("after the update: %+v (created %v, was %v)", got, got.CreationTime, target.CreationTime)
	}

	// aws_appautoscaling_policy: PutScalingPolicy, DescribeScalingPolicies
	// by PolicyNames; the configuration comes back as given.
	tt := &aastypes.TargetTrackingScalingPolicyConfiguration{
		TargetValue: aws.Float64(70), ScaleInCooldown: aws.Int32(600), ScaleOutCooldown: aws.Int32(300), DisableScaleIn: aws.Bool(false),
		PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeSageMakerVariantInvocationsPerInstance},
	}
	put, err := aas.PutScalingPolicy(ctx, &applicationautoscaling.PutScalingPolicyInput{
		PolicyName: aws.String("tf-policy"), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), TargetTrackingScalingPolicyConfiguration: tt,
	})
	if err != nil {
		t.Fatal(err)
	}
	pols, err := aas.DescribeScalingPolicies(ctx, &applicationautoscaling.DescribeScalingPoliciesInput{
		PolicyNames: []string{"tf-policy"}, ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)})
	if err != nil || len(pols.ScalingPolicies) != 1 {
		t.Fatalf("policies %+v, %v", pols, err)
	}
	p := pols.ScalingPolicies[0]
	if got := p.TargetTrackingScalingPolicyConfiguration; got == nil || aws.ToFloat64(got.TargetValue) != 70 ||
		aws.ToInt32(got.ScaleInCooldown) != 600 || aws.ToInt32(got.ScaleOutCooldown) != 300 || got.DisableScaleIn == nil || *got.DisableScaleIn ||
		got.PredefinedMetricSpecification == nil || got.PredefinedMetricSpecification.PredefinedMetricType != aastypes.MetricTypeSageMakerVariantInvocationsPerInstance ||
		got.PredefinedMetricSpecification.ResourceLabel != nil || got.CustomizedMetricSpecification != nil {
		t.Errorf("policy read back differs from what was put: %+v", got)
	}
	if aws.ToString(p.PolicyARN) != aws.ToString(put.PolicyARN) || len(p.Alarms) != 2 {
		t.Errorf("policy ARN %s (put %s), alarms %+v", aws.ToString(p.PolicyARN), aws.ToString(put.PolicyARN), p.Alarms)
	}

	// aws_appautoscaling_scheduled_action.
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := aas.PutScheduledAction(ctx, &applicationautoscaling.PutScheduledActionInput{
		ScheduledActionName: aws.String("tf-nightly"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		Schedule: aws.String("cron(0 22 * * ? *)"), Timezone: aws.String("Europe/Berlin"), StartTime: aws.Time(start),
		ScalableTargetAction: &aastypes.ScalableTargetAction{MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)},
	}); err != nil {
		t.Fatal(err)
	}
	acts, err := aas.DescribeScheduledActions(ctx, &applicationautoscaling.DescribeScheduledActionsInput{
		ScheduledActionNames: []string{"tf-nightly"}, ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)})
	if err != nil || len(acts.ScheduledActions) != 1 {
		t.Fatalf("scheduled actions %+v, %v", acts, err)
	}
	a := acts.ScheduledActions[0]
	if aws.ToString(a.Schedule) != "cron(0 22 * * ? *)" || aws.ToString(a.Timezone) != "Europe/Berlin" || !aws.ToTime(a.StartTime).Equal(start) ||
		aws.ToInt32(a.ScalableTargetAction.MinCapacity) != 1 || aws.ToInt32(a.ScalableTargetAction.MaxCapacity) != 2 {
		t.Errorf("scheduled action read back: %+v", a)
	}

	// aws_cloudwatch_metric_alarm: PutMetricAlarm, DescribeAlarms by
	// AlarmNames with both AlarmTypes, ListTagsForResource.
	alarmIn := &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("tf-latency"), AlarmDescription: aws.String("p99 model latency"),
		Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("ModelLatency"), ExtendedStatistic: aws.String("p99"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("tf")}, {Name: aws.String("VariantName"), Value: aws.String("main")}},
		Period:     aws.Int32(60), EvaluationPeriods: aws.Int32(5), DatapointsToAlarm: aws.Int32(3), Threshold: aws.Float64(250000),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, TreatMissingData: aws.String("notBreaching"),
		Unit: cwtypes.StandardUnitMicroseconds, AlarmActions: []string{aws.ToString(put.PolicyARN)},
		Tags: []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
	}
	if _, err := cw.PutMetricAlarm(ctx, alarmIn); err != nil {
		t.Fatal(err)
	}
	al, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"tf-latency"},
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm, cwtypes.AlarmTypeMetricAlarm}})
	if err != nil || len(al.MetricAlarms) != 1 {
		t.Fatalf("alarms %+v, %v", al, err)
	}
	m := al.MetricAlarms[0]
	if aws.ToString(m.AlarmDescription) != "p99 model latency" || aws.ToString(m.ExtendedStatistic) != "p99" || m.Statistic != "" ||
		aws.ToInt32(m.EvaluationPeriods) != 5 || aws.ToInt32(m.DatapointsToAlarm) != 3 || aws.ToFloat64(m.Threshold) != 250000 ||
		aws.ToString(m.TreatMissingData) != "notBreaching" || m.Unit != cwtypes.StandardUnitMicroseconds || !aws.ToBool(m.ActionsEnabled) ||
		!reflect.DeepEqual(m.AlarmActions, alarmIn.AlarmActions) || len(m.Dimensions) != 2 {
		t.Errorf("alarm read back: %+v", m)
	}
	atags, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: m.AlarmArn})
	if err != nil || len(atags.Tags) != 1 || aws.ToString(atags.Tags[0].Value) != "ml" {
		t.Errorf("alarm tags %+v, %v", atags, err)
	}

	// terraform destroy, in dependency order.
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"tf-latency"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := aas.DeleteScheduledAction(ctx, &applicationautoscaling.DeleteScheduledActionInput{
		ScheduledActionName: aws.String("tf-nightly"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)}); err != nil {
		t.Fatal(err)
	}
	if _, err := aas.DeleteScalingPolicy(ctx, &applicationautoscaling.DeleteScalingPolicyInput{
		PolicyName: aws.String("tf-policy"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)}); err != nil {
		t.Fatal(err)
	}
	if _, err := aas.DeregisterScalableTarget(ctx, &applicationautoscaling.DeregisterScalableTargetInput{
		ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)}); err != nil {
		t.Fatal(err)
	}
	if got := readTarget(); got != nil {
		t.Errorf("target after destroy: %+v", got)
	}
	_, err = aas.DeleteScalingPolicy(ctx, &applicationautoscaling.DeleteScalingPolicyInput{
		PolicyName: aws.String("tf-policy"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)})
	var nf *aastypes.ObjectNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("second delete of the policy: %v, want ObjectNotFoundException", err)
	}
	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("TargetTracking-" + resource)})
	if err != nil || len(alarms.MetricAlarms) != 0 {
		t.Errorf("the policy's alarms after destroy: %+v, %v", alarms, err)
	}
}
