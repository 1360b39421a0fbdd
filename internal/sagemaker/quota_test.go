package sagemaker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/inferscale/inferscale/internal/hosting"
)

// quotaMessage is the ResourceLimitExceeded message of the instance quota.
func quotaMessage(instanceType string, quota, used, delta int) string {
	return fmt.Sprintf("The account-level service limit '%s for endpoint usage' is %d Instances, with current utilization of %d Instances and a request delta of %d Instances. "+
		"Please ask the server's operator to raise this quota (inferscale serve --endpoint-instance-quota).", instanceType, quota, used, delta)
}

// TestInstanceQuota: the instances of each type across an account's
// endpoints are bounded, as SageMaker's "TYPE for endpoint usage" quotas
// bound them: CreateEndpoint, UpdateEndpoint (counting the new fleet while
// the update runs) and UpdateEndpointWeightsAndCapacities are refused with
// ResourceLimitExceeded beyond it, and so is the autoscaler, whose
// activity fails with the message.
func TestInstanceQuota(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e := &hostEnv{t: t, ctx: ctx, dir: t.TempDir(), quota: 3,
		opts: hosting.Options{HealthInterval: 200 * time.Millisecond, LaunchBackoff: 100 * time.Millisecond}}
	e.start()
	t.Cleanup(func() { e.stop() })
	marker := fmt.Sprintf("quota-%d", time.Now().UnixNano())
	e.createModel("ref", map[string]string{"INFERSCALE_MODEL": "reference", "INFERSCALE_TEST_MARKER": marker})
	other := variant("main", "ref", 1, 1)
	other.InstanceType = m8g
	for name, v := range map[string]types.ProductionVariant{
		"huge": variant("main", "ref", 100000, 1), "two": variant("main", "ref", 2, 1),
		"one": variant("main", "ref", 1, 1), "other": other,
	} {
		if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
			EndpointConfigName: aws.String(name), ProductionVariants: []types.ProductionVariant{v},
		}); err != nil {
			t.Fatal(err)
		}
	}
	create := func(name, config string) error {
		_, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(config)})
		return err
	}
	setCount := func(name string, n int32) error {
		_, err := e.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
			EndpointName:                aws.String(name),
			DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("main"), DesiredInstanceCount: aws.Int32(n)}},
		})
		return err
	}
	const c8gType = "ml.c8g.medium"

	wantErr(t, create("huge", "huge"), "ResourceLimitExceeded", quotaMessage(c8gType, 3, 0, 100000))
	if err := create("a", "two"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, create("b", "two"), "ResourceLimitExceeded", quotaMessage(c8gType, 3, 2, 2))
	wantErr(t, create("a", "one"), "ValidationException", `Cannot create already existing endpoint "`+arn("endpoint", "a")+`".`)
	if err := create("c", "other"); err != nil { // another type, another quota
		t.Fatal(err)
	}
	e.waitInService("a")

	wantErr(t, setCount("a", 4), "ResourceLimitExceeded", quotaMessage(c8gType, 3, 2, 2))
	if _, err := e.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName:                aws.String("a"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("main"), DesiredWeight: aws.Float32(2)}},
	}); err != nil {
		t.Errorf("a weight is no instance: %v", err)
	}

	// Blue/green: the new fleet counts beside the old one.
	_, err := e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("a"), EndpointConfigName: aws.String("two")})
	wantErr(t, err, "ResourceLimitExceeded", quotaMessage(c8gType, 3, 2, 2))
	if _, err := e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("a"), EndpointConfigName: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, create("d", "one"), "ResourceLimitExceeded", quotaMessage(c8gType, 3, 3, 1))
	e.waitInService("a")
	if d := e.describe("a"); d.desired != 1 {
		t.Fatalf("after the update: %+v", d)
	}

	// The autoscaler acts through UpdateEndpointWeightsAndCapacities: a
	// minimum above the quota is a Failed activity that says why.
	aas := applicationautoscaling.NewFromConfig(e.awsConfig(), func(o *applicationautoscaling.Options) { o.BaseEndpoint = aws.String(e.url) })
	ns, dim := aastypes.ServiceNamespaceSagemaker, aastypes.ScalableDimensionSageMakerVariantDesiredInstanceCount
	if _, err := aas.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String("endpoint/a/variant/main"), MinCapacity: aws.Int32(5), MaxCapacity: aws.Int32(8),
	}); err != nil {
		t.Fatal(err)
	}
	var failed *aastypes.ScalingActivity
	waitFor(t, 20*time.Second, func() bool {
		out, err := aas.DescribeScalingActivities(ctx, &applicationautoscaling.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String("endpoint/a/variant/main")})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.ScalingActivities {
			if a.StatusCode == aastypes.ScalingActivityStatusCodeFailed {
				failed = &a
				return true
			}
		}
		return false
	})
	if msg, want := aws.ToString(failed.StatusMessage), "Failed to set desired instance count to 5. Reason: "+quotaMessage(c8gType, 3, 1, 4); msg != want {
		t.Errorf("failed activity: %q\nwant %q", msg, want)
	}
	if d := e.describe("a"); d.desired != 1 {
		t.Errorf("after the refused scale-out: %+v", d)
	}
}
