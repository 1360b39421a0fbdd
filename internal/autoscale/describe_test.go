package autoscale

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"github.com/inferscale/inferscale/internal/cloudwatch"
)

// describeOp is one of the four Describe operations, called with the
// members they share; it returns how many items it listed and its
// NextToken.
type describeOp struct {
	name string
	call func(e *apiEnv, ns types.ServiceNamespace, resourceID *string, dim types.ScalableDimension, max *int32, token *string) (int, *string, error)
}

var describeOps = []describeOp{
	{"DescribeScalableTargets", func(e *apiEnv, ns types.ServiceNamespace, id *string, dim types.ScalableDimension, max *int32, token *string) (int, *string, error) {
		in := &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, ScalableDimension: dim, MaxResults: max, NextToken: token}
		if id != nil {
			in.ResourceIds = []string{*id}
		}
		out, err := e.client.DescribeScalableTargets(e.ctx, in)
		if err != nil {
			return 0, nil, err
		}
		return len(out.ScalableTargets), out.NextToken, nil
	}},
	{"DescribeScalingPolicies", func(e *apiEnv, ns types.ServiceNamespace, id *string, dim types.ScalableDimension, max *int32, token *string) (int, *string, error) {
		out, err := e.client.DescribeScalingPolicies(e.ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, ResourceId: id,
			ScalableDimension: dim, MaxResults: max, NextToken: token})
		if err != nil {
			return 0, nil, err
		}
		return len(out.ScalingPolicies), out.NextToken, nil
	}},
	{"DescribeScalingActivities", func(e *apiEnv, ns types.ServiceNamespace, id *string, dim types.ScalableDimension, max *int32, token *string) (int, *string, error) {
		out, err := e.client.DescribeScalingActivities(e.ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: id,
			ScalableDimension: dim, MaxResults: max, NextToken: token, IncludeNotScaledActivities: aws.Bool(true)})
		if err != nil {
			return 0, nil, err
		}
		return len(out.ScalingActivities), out.NextToken, nil
	}},
	{"DescribeScheduledActions", func(e *apiEnv, ns types.ServiceNamespace, id *string, dim types.ScalableDimension, max *int32, token *string) (int, *string, error) {
		out, err := e.client.DescribeScheduledActions(e.ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: ns, ResourceId: id,
			ScalableDimension: dim, MaxResults: max, NextToken: token})
		if err != nil {
			return 0, nil, err
		}
		return len(out.ScheduledActions), out.NextToken, nil
	}},
}

// Every Describe operation answers a NextToken it did not issue (garbage,
// base64 of anything, another operation's token) with
// InvalidNextTokenException, and pages with its own.
func TestDescribeNextToken(t *testing.T) {
	e := newAPIEnv(t)
	e.register(t, variantID, 1, 8)
	sagemaker := types.ServiceNamespaceSagemaker
	for i := range 2 {
		name := fmt.Sprintf("p%d", i)
		if _, err := e.client.PutScalingPolicy(e.ctx, invocationsPolicy(name)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{ServiceNamespace: sagemaker,
			ResourceId: aws.String(variantID), ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
			ScheduledActionName: aws.String(name), Schedule: aws.String("rate(1 day)"),
			ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	_, policyToken, err := describeOps[1].call(e, sagemaker, nil, "", aws.Int32(1), nil)
	if err != nil || policyToken == nil {
		t.Fatalf("first page of policies: token %v, %v", policyToken, err)
	}
	if n, next, err := describeOps[1].call(e, sagemaker, nil, "", aws.Int32(1), policyToken); err != nil || n != 1 || next != nil {
		t.Errorf("second page of policies: %d, %v, %v", n, next, err)
	}
	_, schedToken, err := describeOps[3].call(e, sagemaker, nil, "", aws.Int32(1), nil)
	if err != nil || schedToken == nil {
		t.Fatalf("first page of scheduled actions: token %v, %v", schedToken, err)
	}
	bad := []string{"garbage", base64.RawURLEncoding.EncodeToString([]byte("not-a-token")), "!!"}
	for _, op := range describeOps {
		tokens := append([]string{}, bad...)
		if op.name != "DescribeScalingPolicies" {
			tokens = append(tokens, *policyToken)
		} else {
			tokens = append(tokens, *schedToken)
		}
		for _, tok := range tokens {
			_, _, err := op.call(e, sagemaker, nil, "", nil, aws.String(tok))
			t.Run(op.name+"/"+tok, func(t *testing.T) { wantAPIError(t, err, "InvalidNextTokenException", "The NextToken is not valid.") })
		}
	}
}

// With the endpoint deleted while its variant is registered, a scheduled
// action and an alarm that try to scale record Failed activities naming
// the reason, as AWS words them.
func TestFailedScalingActivities(t *testing.T) {
	e := newAPIEnv(t)
	stop := run(t, e.svc, nil)
	defer stop()
	e.register(t, variantID, 1, 8)
	out, err := e.client.PutScalingPolicy(e.ctx, &aas.PutScalingPolicyInput{
		PolicyName: aws.String("step-out"), ServiceNamespace: types.ServiceNamespaceSagemaker, ResourceId: aws.String(variantID),
		ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount, PolicyType: types.PolicyTypeStepScaling,
		StepScalingPolicyConfiguration: &types.StepScalingPolicyConfiguration{AdjustmentType: types.AdjustmentTypeChangeInCapacity,
			StepAdjustments: []types.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.cap.remove(testAccount, testRegion, variantID)

	ev := cloudwatch.AlarmEvent{Account: testAccount, Region: testRegion, AlarmName: "busy", State: cloudwatch.StateAlarm,
		Changed: true, Threshold: 100, Datapoints: []float64{150}}
	if err := e.svc.Handle(e.ctx, aws.ToString(out.PolicyARN), ev); err == nil {
		t.Error("Handle succeeded on a deleted endpoint")
	}
	// The same breach a minute later is not recorded again.
	_ = e.svc.Handle(e.ctx, aws.ToString(out.PolicyARN), ev)
	at := time.Now().UTC().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	if _, err := e.client.PutScheduledAction(e.ctx, &aas.PutScheduledActionInput{ServiceNamespace: types.ServiceNamespaceSagemaker,
		ResourceId: aws.String(variantID), ScalableDimension: types.ScalableDimensionSageMakerVariantDesiredInstanceCount,
		ScheduledActionName: aws.String("morning"), Schedule: aws.String("at(" + at.Format("2006-01-02T15:04:05") + ")"),
		ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(2)}}); err != nil {
		t.Fatal(err)
	}
	acts := waitActivities(t, e, func(as []types.ScalingActivity) bool { return len(as) >= 2 })
	const gone = "Reason: The SageMaker endpoint variant " + variantID + " does not exist."
	want := []struct{ desc, cause, msg string }{
		{"Setting min capacity to 2", "scheduled action name morning was triggered", "Failed to set min capacity to 2. " + gone},
		{"Setting desired instance count.", "monitor alarm busy in state ALARM triggered policy step-out", "Failed to set desired instance count. " + gone},
	}
	if len(acts) != len(want) {
		t.Fatalf("activities %+v", acts)
	}
	for i, w := range want {
		a := acts[i]
		if a.StatusCode != types.ScalingActivityStatusCodeFailed || aws.ToString(a.Description) != w.desc ||
			aws.ToString(a.Cause) != w.cause || aws.ToString(a.StatusMessage) != w.msg || a.EndTime == nil {
			t.Errorf("activity %d: %s %q %q %q", i, a.StatusCode, aws.ToString(a.Description), aws.ToString(a.Cause), aws.ToString(a.StatusMessage))
		}
	}
}

// The rules the four Describe operations share: other namespaces list
// nothing (Register still refuses them); a scalable dimension needs a
// resource ID; MaxResults 0 is out of range, as -1 is.
func TestDescribeScope(t *testing.T) {
	e := newAPIEnv(t)
	e.register(t, variantID, 1, 8)
	dim := types.ScalableDimensionSageMakerVariantDesiredInstanceCount
	id := aws.String(variantID)
	for _, op := range describeOps {
		t.Run(op.name, func(t *testing.T) {
			for _, ns := range []types.ServiceNamespace{types.ServiceNamespaceEcs, types.ServiceNamespaceDynamodb} {
				if n, next, err := op.call(e, ns, nil, "", nil, nil); err != nil || n != 0 || next != nil {
					t.Errorf("namespace %s: %d, %v, %v; want an empty list", ns, n, next, err)
				}
			}
			if _, _, err := op.call(e, types.ServiceNamespaceEcs, aws.String("service/c/s"), types.ScalableDimensionECSServiceDesiredCount, nil, nil); err != nil {
				t.Errorf("ecs service: %v", err)
			}
			_, _, err := op.call(e, types.ServiceNamespaceSagemaker, nil, dim, nil, nil)
			wantAPIError(t, err, "ValidationException", "If you specify a scalable dimension, you must also specify a resource ID.")
			for _, max := range []int32{0, -1} {
				_, _, err := op.call(e, types.ServiceNamespaceSagemaker, nil, "", aws.Int32(max), nil)
				wantAPIError(t, err, "ValidationException", fmt.Sprintf("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and", max))
			}
			if _, _, err := op.call(e, types.ServiceNamespaceSagemaker, id, dim, aws.Int32(1), nil); err != nil {
				t.Errorf("MaxResults 1: %v", err)
			}
		})
	}
}
