package sagemaker_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// TestUpdateEndpoint moves an endpoint to another configuration under
// load, blue/green: Updating while the new fleet launches, then the new
// configuration's processes only, every invocation answered meanwhile;
// RetainAllVariantProperties keeps the capacity set since; a
// configuration whose model cannot start leaves the endpoint on the
// previous one, InService, with a FailureReason.
func TestUpdateEndpoint(t *testing.T) {
	e := newHostEnv(t)
	ctx := e.ctx
	stamp := time.Now().UnixNano()
	markerA, markerB := fmt.Sprintf("update-a-%d", stamp), fmt.Sprintf("update-b-%d", stamp)
	for name, marker := range map[string]string{"model-a": markerA, "model-b": markerB} {
		e.createModel(name, map[string]string{
			"INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "1ms", "INFERSCALE_REFERENCE_SLOTS": "8",
			"INFERSCALE_TEST_MARKER": marker,
		})
	}
	if _, err := e.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("broken"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String("/bin/false")},
	}); err != nil {
		t.Fatal(err)
	}
	for name, variants := range map[string][]types.ProductionVariant{
		"cfg-a":      {variant("main", "model-a", 1, 1)},
		"cfg-b":      {variant("main", "model-b", 1, 1), variant("canary", "model-b", 1, 1)},
		"cfg-broken": {variant("main", "broken", 1, 1)},
	} {
		if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(name), ProductionVariants: variants}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg-a")}); err != nil {
		t.Fatal(err)
	}
	e.waitInService("ep")
	_, err := e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("nope")})
	wantErr(t, err, "ValidationException", `Could not find endpoint configuration "`+arn("endpoint-config", "nope")+`".`)
	_, err = e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("nope"), EndpointConfigName: aws.String("cfg-b")})
	wantErr(t, err, "ValidationException", `Could not find endpoint "`+arn("endpoint", "nope")+`".`)

	// Capacity set after creation, which the update retains.
	if _, err := e.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName:                aws.String("ep"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("main"), DesiredInstanceCount: aws.Int32(2)}},
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool { return len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+markerA)) == 2 })
	e.waitInService("ep")

	// Invocations all through the update, bounded in count and time.
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			deadline := time.Now().Add(60 * time.Second)
			for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := e.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
					EndpointName: aws.String("ep"), Body: []byte(`{"instances":[[1,2]]}`), ContentType: aws.String("application/json"),
				})
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	if _, err := e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{
		EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg-b"), RetainAllVariantProperties: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	d, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ep")})
	if err != nil {
		t.Fatal(err)
	}
	if d.EndpointStatus != types.EndpointStatusUpdating || d.PendingDeploymentSummary == nil ||
		aws.ToString(d.PendingDeploymentSummary.EndpointConfigName) != "cfg-b" || aws.ToString(d.EndpointConfigName) != "cfg-a" {
		t.Errorf("during the update: status %s, config %s, pending %+v", d.EndpointStatus, aws.ToString(d.EndpointConfigName), d.PendingDeploymentSummary)
	}
	_, err = e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg-a")})
	wantErr(t, err, "ValidationException", `Cannot update in-progress endpoint "`+arn("endpoint", "ep")+`".`)
	_, err = e.sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{
		EndpointName:                aws.String("ep"),
		DesiredWeightsAndCapacities: []types.DesiredWeightAndCapacity{{VariantName: aws.String("main"), DesiredInstanceCount: aws.Int32(1)}},
	})
	wantErr(t, err, "ValidationException", `Cannot update in-progress endpoint "`+arn("endpoint", "ep")+`".`)

	e.waitInService("ep")
	d, err = e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ep")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.EndpointConfigName) != "cfg-b" || d.PendingDeploymentSummary != nil || d.FailureReason != nil {
		t.Errorf("after the update: config %s, pending %+v, failure %q", aws.ToString(d.EndpointConfigName), d.PendingDeploymentSummary, aws.ToString(d.FailureReason))
	}
	wantVariants(t, e, "ep", map[string]int32{"main": 2, "canary": 1})
	waitFor(t, 20*time.Second, func() bool {
		return len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+markerA)) == 0 && len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+markerB)) == 3
	})
	before := sent.Load()
	waitFor(t, 10*time.Second, func() bool { return sent.Load() > before+20 }) // the new fleet serves
	if n, f := sent.Load(), failed.Load(); f > 0 {
		t.Errorf("%d of %d invocations failed during the update: %v", f, n, firstErr.Load())
	}
	if counts := invokeN(t, e, "ep", "canary", 3); counts["canary"] != 3 {
		t.Errorf("TargetVariant canary: %v", counts)
	}

	// A configuration that cannot start: the endpoint stays on cfg-b.
	if _, err := e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg-broken")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool {
		d, err = e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ep")})
		return err == nil && d.EndpointStatus == types.EndpointStatusInService && d.FailureReason != nil
	})
	if aws.ToString(d.EndpointConfigName) != "cfg-b" || !strings.Contains(aws.ToString(d.FailureReason), "Update to endpoint configuration cfg-broken failed") {
		t.Errorf("after a failed update: config %s, failure %q", aws.ToString(d.EndpointConfigName), aws.ToString(d.FailureReason))
	}
	wantVariants(t, e, "ep", map[string]int32{"main": 2, "canary": 1})
	if ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+markerB); len(ps) != 3 {
		t.Errorf("%d model servers of cfg-b run after the failed update, want 3", len(ps))
	}
	if n, f := sent.Load(), failed.Load(); f > 0 {
		t.Errorf("%d of %d invocations failed", f, n)
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	t.Logf("%d invocations, none failed, across two updates", sent.Load())

	// An update cut short by a restart is carried out after it.
	markerC := fmt.Sprintf("update-c-%d", stamp)
	e.createModel("model-c", map[string]string{"INFERSCALE_MODEL": "reference", "INFERSCALE_SETUP_DELAY": "2s", "INFERSCALE_TEST_MARKER": markerC})
	if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String("cfg-c"), ProductionVariants: []types.ProductionVariant{variant("main", "model-c", 1, 1)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("cfg-c")}); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if d, err := e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ep")}); err != nil || d.EndpointStatus != types.EndpointStatusUpdating {
		t.Fatalf("just after the restart: %v %+v", err, d)
	}
	e.waitInService("ep")
	d, err = e.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: aws.String("ep")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.EndpointConfigName) != "cfg-c" || d.PendingDeploymentSummary != nil {
		t.Errorf("after a restart during an update: config %s, pending %+v", aws.ToString(d.EndpointConfigName), d.PendingDeploymentSummary)
	}
	wantVariants(t, e, "ep", map[string]int32{"main": 1})
	waitFor(t, 20*time.Second, func() bool {
		return len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+markerB)) == 0 && len(procsWithEnv(t, "INFERSCALE_TEST_MARKER="+markerC)) == 1
	})
}
