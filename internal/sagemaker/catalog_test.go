package sagemaker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	sm "github.com/inferscale/inferscale/internal/sagemaker"
	"github.com/inferscale/inferscale/internal/server"
)

// TestCatalogInstanceTypes: an instance type that serve's --catalog adds
// is accepted where the model's enum of instance types is checked (it
// was refused before the catalog was asked); an unknown one is still
// refused with AWS's enum message.
func TestCatalogInstanceTypes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cat, err := testCatalog(t).Merge(strings.NewReader(`{"instanceTypes": [{"name": "ml.lab.small", "vcpu": 1, "memoryGiB": 1}]}`), "lab")
	if err != nil {
		t.Fatal(err)
	}
	_, url, stop := serveTest(t, ctx, server.Config{DataDir: t.TempDir(), CheckOutput: true, Jobs: sm.JobOptions{Catalog: cat}})
	defer stop()
	client := sdkClient(url)
	if _, err := client.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("m"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(sm.SampleModelImage)},
	}); err != nil {
		t.Fatal(err)
	}
	v := variant("main", "m", 1, 1)
	v.InstanceType = "ml.lab.small"
	if _, err := client.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String("lab"), ProductionVariants: []types.ProductionVariant{v},
	}); err != nil {
		t.Fatalf("CreateEndpointConfig on the catalog's ml.lab.small: %v", err)
	}
	v.InstanceType = "ml.nowhere.large"
	_, err = client.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String("nowhere"), ProductionVariants: []types.ProductionVariant{v},
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.Contains(ae.ErrorMessage(), "enum value set") ||
		!strings.Contains(ae.ErrorMessage(), "ml.lab.small") {
		t.Errorf("unknown instance type: %v, want the enum's ValidationException listing ml.lab.small", err)
	}
}
