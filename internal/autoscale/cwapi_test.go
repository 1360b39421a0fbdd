package autoscale

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/metrics"
)

// cwEnv is Application Auto Scaling with the real CloudWatch service as
// its alarms and alarm-action caller, both behind one router, driven by
// real aws-sdk-go-v2 clients of both services.
type cwEnv struct {
	*apiEnv
	cw       *cloudwatch.Service
	cwClient *cw.Client
}

func newCWEnv(t *testing.T) *cwEnv {
	t.Helper()
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	ms := metrics.New(metrics.Options{})
	e := &cwEnv{apiEnv: &apiEnv{cap: newTestCapacity(), metrics: ms}}
	e.cap.add(testAccount, testRegion, variantID, 1)
	e.cw = &cloudwatch.Service{Store: st, Metrics: ms}
	e.svc = &Service{Store: st, Capacity: e.cap, Alarms: e.cw, Metrics: ms, PollInterval: 5 * time.Millisecond}
	e.cw.AddActionHandler(e.svc)
	rt := &api.Router{}
	a := e.svc.NewAPI()
	a.CheckOutput = true
	c := e.cw.NewAPI()
	c.CheckOutput = true
	for _, s := range []*api.Service{a, c} {
		if err := rt.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region: testRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
	e.client = aas.NewFromConfig(cfg, func(o *aas.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	e.cwClient = cw.NewFromConfig(cfg, func(o *cw.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx
	return e
}

// alarmExists reports whether CloudWatch has the alarm.
func (e *cwEnv) alarmExists(t *testing.T, name string) bool {
	t.Helper()
	out, err := e.cwClient.DescribeAlarms(e.ctx, &cw.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.MetricAlarms) == 1
}

// A target-tracking policy whose alarm the user deleted is deleted (and
// so is the target of such a policy), its other alarm with it: alarms that
// are already gone are ignored, as AWS ignores them.
func TestDeleteWithAlarmGone(t *testing.T) {
	e := newCWEnv(t)
	e.register(t, variantID, 1, 4)
	policy := func(name string) (high, low string) {
		t.Helper()
		out, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Alarms {
			if isHighAlarm(aws.ToString(a.AlarmName)) {
				high = aws.ToString(a.AlarmName)
			} else {
				low = aws.ToString(a.AlarmName)
			}
		}
		if high == "" || low == "" || !e.alarmExists(t, high) || !e.alarmExists(t, low) {
			t.Fatalf("policy %s: alarms %+v", name, out.Alarms)
		}
		return high, low
	}
	userDeletes := func(name string) {
		t.Helper()
		if _, err := e.cwClient.DeleteAlarms(e.ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{name}}); err != nil {
			t.Fatal(err)
		}
	}

	high, low := policy("p1")
	userDeletes(high)
	if _, err := e.client.DeleteScalingPolicy(e.ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("p1"),
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount}); err != nil {
		t.Fatalf("DeleteScalingPolicy with its high alarm gone: %v", err)
	}
	if e.alarmExists(t, low) {
		t.Errorf("the low alarm %s outlived its policy", low)
	}

	// Deregistering: one policy lost its low alarm, another is intact.
	_, low2 := policy("p2")
	high3, low3 := policy("p3")
	userDeletes(low2)
	if _, err := e.client.DeregisterScalableTarget(e.ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount}); err != nil {
		t.Fatalf("DeregisterScalableTarget with an alarm gone: %v", err)
	}
	for _, n := range []string{high3, low3} {
		if e.alarmExists(t, n) {
			t.Errorf("alarm %s outlived its target", n)
		}
	}
	ps, err := e.client.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: types.ServiceNamespaceSagemaker})
	if err != nil || len(ps.ScalingPolicies) != 0 {
		t.Errorf("policies after deregistering: %+v, %v", ps, err)
	}
}

// stepPolicy puts a step scaling policy that adds one instance when its
// alarm's metric is at or above the threshold and returns its ARN.
func (e *cwEnv) stepPolicy(t *testing.T, name string) string {
	t.Helper()
	out, err := e.client.PutScalingPolicy(e.ctx, &aas.PutScalingPolicyInput{
		PolicyName: aws.String(name), ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount, PolicyType: types.PolicyTypeStepScaling,
		StepScalingPolicyConfiguration: &types.StepScalingPolicyConfiguration{
			AdjustmentType: types.AdjustmentTypeChangeInCapacity, Cooldown: aws.Int32(60),
			StepAdjustments: []types.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.PolicyARN)
}

// userAlarm puts an alarm on the variant's invocations, above 100, whose
// action is arn.
func (e *cwEnv) userAlarm(t *testing.T, name, arn string) {
	t.Helper()
	if _, err := e.cwClient.PutMetricAlarm(e.ctx, &cw.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("AWS/SageMaker"), MetricName: aws.String("Invocations"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("EndpointName"), Value: aws.String("my-endpoint")},
			{Name: aws.String("VariantName"), Value: aws.String("my-variant")}},
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(100),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, AlarmActions: []string{arn},
	}); err != nil {
		t.Fatal(err)
	}
}

// SetAlarmState to ALARM runs a step policy named in the alarm's actions,
// as an evaluated state change does: a scaling activity, and an Action
// item in the alarm's history.
func TestSetAlarmStateRunsStepPolicy(t *testing.T) {
	e := newCWEnv(t)
	stop := run(t, e.svc, nil)
	defer stop()
	e.register(t, variantID, 1, 4)
	arn := e.stepPolicy(t, "step-out")
	e.userAlarm(t, "busy", arn)
	if _, err := e.cwClient.SetAlarmState(e.ctx, &cw.SetAlarmStateInput{AlarmName: aws.String("busy"),
		StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("testing the policy")}); err != nil {
		t.Fatal(err)
	}
	acts := waitActivities(t, e.apiEnv, func(as []types.ScalingActivity) bool { return len(as) > 0 })
	if a := acts[0]; aws.ToString(a.Description) != "Setting desired instance count to 2." ||
		aws.ToString(a.Cause) != "monitor alarm busy in state ALARM triggered policy step-out" {
		t.Errorf("activity %+v", a)
	}
	h, err := e.cwClient.DescribeAlarmHistory(e.ctx, &cw.DescribeAlarmHistoryInput{AlarmName: aws.String("busy"),
		HistoryItemType: cwtypes.HistoryItemTypeAction})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.AlarmHistoryItems) != 1 || aws.ToString(h.AlarmHistoryItems[0].HistorySummary) != "Successfully executed action "+arn {
		t.Errorf("action history %+v", h.AlarmHistoryItems)
	}
}

// A step policy's Alarms are every alarm whose actions call it, whether or
// not it has been in ALARM, as AWS lists them.
func TestStepPolicyAlarms(t *testing.T) {
	e := newCWEnv(t)
	e.register(t, variantID, 1, 4)
	arn := e.stepPolicy(t, "step-out")
	e.userAlarm(t, "busy", arn)
	e.userAlarm(t, "also-busy", arn)
	if _, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy("tt")); err != nil {
		t.Fatal(err)
	}
	alarms := func() map[string]string {
		t.Helper()
		out, err := e.client.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{
			ServiceNamespace: types.ServiceNamespaceSagemaker, PolicyNames: []string{"step-out", "tt"}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, p := range out.ScalingPolicies {
			var names []string
			for _, a := range p.Alarms {
				if want := "arn:aws:cloudwatch:" + testRegion + ":" + testAccount + ":alarm:" + aws.ToString(a.AlarmName); aws.ToString(a.AlarmARN) != want {
					t.Errorf("alarm ARN %s, want %s", aws.ToString(a.AlarmARN), want)
				}
				names = append(names, aws.ToString(a.AlarmName))
			}
			got[aws.ToString(p.PolicyName)] = strings.Join(names, ",")
		}
		return got
	}
	got := alarms()
	if got["step-out"] != "also-busy,busy" || !strings.Contains(got["tt"], "-AlarmHigh-") || !strings.Contains(got["tt"], "-AlarmLow-") {
		t.Errorf("policy alarms %v", got)
	}
	if _, err := e.cwClient.DeleteAlarms(e.ctx, &cw.DeleteAlarmsInput{AlarmNames: []string{"busy"}}); err != nil {
		t.Fatal(err)
	}
	if got := alarms(); got["step-out"] != "also-busy" {
		t.Errorf("after deleting alarm busy: %v", got)
	}
}
