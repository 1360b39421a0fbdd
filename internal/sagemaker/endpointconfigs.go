package sagemaker

import (
	"context"
	"errors"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/catalog"
)

// Endpoint configurations: a list of production variants (a model on an
// instance type, an instance count and a routing weight) that
// CreateEndpoint deploys. As in SageMaker, the models must exist when the
// configuration is created, and a configuration may be deleted while
// endpoints created from it run.

var (
	kindEndpointConfig = &kind{
		name:     "endpoint-config",
		lowerARN: true,
		notFound: invalid(`Could not find endpoint configuration "%s".`),
		exists:   invalid(`Cannot create already existing endpoint configuration "%s".`),
	}
	kindEndpoint = &kind{
		name:     "endpoint",
		lowerARN: true,
		notFound: invalid(`Could not find endpoint "%s".`),
		exists:   invalid(`Cannot create already existing endpoint "%s".`),
	}
)

// RoutingConfig is a variant's RoutingConfig.
type RoutingConfig struct {
	RoutingStrategy string `json:"RoutingStrategy,omitempty"` // LEAST_OUTSTANDING_REQUESTS or RANDOM
}

// ProductionVariant is a variant of an endpoint configuration. Members
// inferscale does not act on are kept as they were given.
type ProductionVariant struct {
	VariantName                                 string         `json:"VariantName"`
	ModelName                                   string         `json:"ModelName,omitempty"`
	InstanceType                                string         `json:"InstanceType,omitempty"`
	InitialInstanceCount                        *int32         `json:"InitialInstanceCount,omitempty"`
	InitialVariantWeight                        *float64       `json:"InitialVariantWeight,omitempty"`
	RoutingConfig                               *RoutingConfig `json:"RoutingConfig,omitempty"`
	AcceleratorType                             string         `json:"AcceleratorType,omitempty"`
	CoreDumpConfig                              Opaque         `json:"CoreDumpConfig,omitempty"`
	ServerlessConfig                            Opaque         `json:"ServerlessConfig,omitempty"`
	VolumeSizeInGB                              *int32         `json:"VolumeSizeInGB,omitempty"`
	ModelDataDownloadTimeoutInSeconds           *int32         `json:"ModelDataDownloadTimeoutInSeconds,omitempty"`
	ContainerStartupHealthCheckTimeoutInSeconds *int32         `json:"ContainerStartupHealthCheckTimeoutInSeconds,omitempty"`
	EnableSSMAccess                             *bool          `json:"EnableSSMAccess,omitempty"`
	ManagedInstanceScaling                      Opaque         `json:"ManagedInstanceScaling,omitempty"`
	InferenceAmiVersion                         string         `json:"InferenceAmiVersion,omitempty"`
}

// EndpointConfigSpec is what CreateEndpointConfig's input and
// DescribeEndpointConfig's output share.
type EndpointConfigSpec struct {
	ProductionVariants       []ProductionVariant `json:"ProductionVariants"`
	DataCaptureConfig        *DataCaptureConfig  `json:"DataCaptureConfig,omitempty"`
	KmsKeyID                 string              `json:"KmsKeyId,omitempty"`
	AsyncInferenceConfig     Opaque              `json:"AsyncInferenceConfig,omitempty"`
	ExplainerConfig          Opaque              `json:"ExplainerConfig,omitempty"`
	ShadowProductionVariants Opaque              `json:"ShadowProductionVariants,omitempty"`
	ExecutionRoleArn         string              `json:"ExecutionRoleArn,omitempty"`
	VpcConfig                Opaque              `json:"VpcConfig,omitempty"`
	EnableNetworkIsolation   *bool               `json:"EnableNetworkIsolation,omitempty"`
}

// EndpointConfig is a stored endpoint configuration: the
// DescribeEndpointConfig output.
type EndpointConfig struct {
	EndpointConfigName string `json:"EndpointConfigName"`
	EndpointConfigArn  string `json:"EndpointConfigArn"`
	EndpointConfigSpec
	CreationTime awstime.Timestamp `json:"CreationTime"`
}

type createEndpointConfigInput struct {
	EndpointConfigName string `json:"EndpointConfigName"`
	EndpointConfigSpec
	Tags []Tag `json:"Tags,omitempty"`
}

type createEndpointConfigOutput struct {
	EndpointConfigArn string `json:"EndpointConfigArn"`
}

type endpointConfigRef struct {
	EndpointConfigName string `json:"EndpointConfigName"`
}

type listEndpointConfigsInput struct {
	listParams
}

type endpointConfigSummary struct {
	EndpointConfigName string            `json:"EndpointConfigName"`
	EndpointConfigArn  string            `json:"EndpointConfigArn"`
	CreationTime       awstime.Timestamp `json:"CreationTime"`
}

type listEndpointConfigsOutput struct {
	EndpointConfigs []endpointConfigSummary `json:"EndpointConfigs"`
	NextToken       string                  `json:"NextToken,omitempty"`
}

// endpointOps are the operations on endpoint configurations and endpoints.
func (s *Service) endpointOps() []*api.Operation {
	return []*api.Operation{
		api.Op("CreateEndpointConfig", s.createEndpointConfig),
		api.Op("DescribeEndpointConfig", s.describeEndpointConfig),
		api.Op("ListEndpointConfigs", s.listEndpointConfigs),
		api.Op("DeleteEndpointConfig", s.deleteEndpointConfig),

		api.Op("CreateEndpoint", s.createEndpoint),
		api.Op("DescribeEndpoint", s.describeEndpoint),
		api.Op("ListEndpoints", s.listEndpoints),
		api.Op("DeleteEndpoint", s.deleteEndpoint),
		api.Op("UpdateEndpoint", s.updateEndpoint),
		api.Op("UpdateEndpointWeightsAndCapacities", s.updateWeightsAndCapacities),
	}
}

func (s *Service) createEndpointConfig(ctx context.Context, req *api.Request, in *createEndpointConfigInput) (*createEndpointConfigOutput, error) {
	sc := scopeOf(req)
	cat, err := s.Jobs.catalog()
	if err != nil {
		return nil, err
	}
	for _, u := range []struct {
		given bool
		why   string
	}{
		{len(in.AsyncInferenceConfig) > 0, "AsyncInferenceConfig: asynchronous inference is not supported by this server; its endpoints serve InvokeEndpoint (real-time) only."},
		{len(in.ExplainerConfig) > 0, "ExplainerConfig: online explainability (SageMaker Clarify) is not supported by this server."},
		{len(in.ShadowProductionVariants) > 0, "ShadowProductionVariants: shadow variants are not supported by this server; give every variant in ProductionVariants."},
	} {
		if u.given {
			return nil, api.Errorf(api.KindInvalid, "%s", u.why)
		}
	}
	seen := map[string]bool{}
	for i := range in.ProductionVariants {
		v := &in.ProductionVariants[i]
		if v.InitialVariantWeight == nil {
			v.InitialVariantWeight = ptr(1.0) // as SageMaker describes it
		}
		if seen[v.VariantName] {
			return nil, api.Errorf(api.KindInvalid, "The variant name %s is used by more than one production variant.", v.VariantName)
		}
		seen[v.VariantName] = true
		if err := checkVariant(ctx, s, sc, cat, v); err != nil {
			return nil, err
		}
	}
	if err := checkDataCapture(in.DataCaptureConfig); err != nil {
		return nil, err
	}
	c := EndpointConfig{
		EndpointConfigName: in.EndpointConfigName,
		EndpointConfigArn:  kindEndpointConfig.arn(sc, in.EndpointConfigName),
		EndpointConfigSpec: in.EndpointConfigSpec,
		CreationTime:       awstime.Timestamp{Time: now(req)},
	}
	if err := create(ctx, s.Store, kindEndpointConfig, sc, c.EndpointConfigName, c.EndpointConfigArn, c.CreationTime.Time, &c, in.Tags); err != nil {
		return nil, err
	}
	return &createEndpointConfigOutput{EndpointConfigArn: c.EndpointConfigArn}, nil
}

// checkVariant enforces what the model's shapes cannot say about a variant
// that runs here: instance-based, on a known instance type, of a model that
// exists.
func checkVariant(ctx context.Context, s *Service, sc scope, cat *catalog.Catalog, v *ProductionVariant) error {
	switch {
	case len(v.ServerlessConfig) > 0:
		return api.Errorf(api.KindInvalid, "Variant %s: serverless variants are not supported by this server; give InstanceType and InitialInstanceCount.", v.VariantName)
	case v.ModelName == "":
		return api.Errorf(api.KindInvalid, "Variant %s: ModelName is required.", v.VariantName)
	case v.InstanceType == "":
		return api.Errorf(api.KindInvalid, "Variant %s: InstanceType is required.", v.VariantName)
	case v.InitialInstanceCount == nil:
		return api.Errorf(api.KindInvalid, "Variant %s: InitialInstanceCount is required.", v.VariantName)
	}
	if _, err := cat.Lookup(v.InstanceType); err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return err
		}
		return api.Errorf(api.KindInvalid, "Variant %s: %v", v.VariantName, err)
	}
	m, err := s.LookupModel(ctx, sc.account, sc.region, v.ModelName)
	if err != nil {
		return err
	}
	return m.checkSingleContainer()
}

func (s *Service) describeEndpointConfig(ctx context.Context, req *api.Request, in *endpointConfigRef) (*EndpointConfig, error) {
	c, _, err := get[EndpointConfig](ctx, s.Store, kindEndpointConfig, scopeOf(req), in.EndpointConfigName)
	if err != nil {
		return nil, err
	}
	for i := range c.ProductionVariants {
		if v := &c.ProductionVariants[i]; v.InitialVariantWeight == nil {
			v.InitialVariantWeight = ptr(1.0) // stored before it was set on creation
		}
	}
	return c, nil
}

func (s *Service) deleteEndpointConfig(ctx context.Context, req *api.Request, in *endpointConfigRef) (*struct{}, error) {
	return nil, remove(ctx, s.Store, kindEndpointConfig, scopeOf(req), in.EndpointConfigName)
}

func (s *Service) listEndpointConfigs(ctx context.Context, req *api.Request, in *listEndpointConfigsInput) (*listEndpointConfigsOutput, error) {
	q, err := in.query(kindEndpointConfig, scopeOf(req), listOrder{sortBy: "CreationTime", descending: true})
	if err != nil {
		return nil, err
	}
	cs, next, err := list(ctx, s.Store, q, func(c *endpointConfigSummary) endpointConfigSummary { return *c })
	if err != nil {
		return nil, err
	}
	return &listEndpointConfigsOutput{EndpointConfigs: cs, NextToken: next}, nil
}
