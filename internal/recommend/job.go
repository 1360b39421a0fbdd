package recommend

import (
	"github.com/inferscale/inferscale/internal/awstime"
)

// The types in this file mirror SageMaker's
// CreateInferenceRecommendationsJob request and
// DescribeInferenceRecommendationsJob response member for member, so that a
// request file written for the aws CLI (--cli-input-json) decodes into them
// unchanged. Members the measurement core has no use for (KMS keys, VPCs,
// output locations) are kept so that nothing a client sends is lost.

// Job types and statuses, as the SageMaker API names them.
const (
	JobTypeDefault  = "Default"
	JobTypeAdvanced = "Advanced"

	StatusPending    = "PENDING"
	StatusInProgress = "IN_PROGRESS"
	StatusCompleted  = "COMPLETED"
	StatusFailed     = "FAILED"
	StatusStopping   = "STOPPING"
	StatusStopped    = "STOPPED"

	TrafficPhases = "PHASES"
	TrafficStairs = "STAIRS"

	FlatInvocationsStop     = "Stop"
	FlatInvocationsContinue = "Continue"
)

// JobInput is CreateInferenceRecommendationsJobRequest.
type JobInput struct {
	JobName            string              `json:"JobName"`
	JobType            string              `json:"JobType"`
	RoleArn            string              `json:"RoleArn,omitempty"`
	InputConfig        InputConfig         `json:"InputConfig"`
	JobDescription     string              `json:"JobDescription,omitempty"`
	StoppingConditions *StoppingConditions `json:"StoppingConditions,omitempty"`
	OutputConfig       *OutputConfig       `json:"OutputConfig,omitempty"`
	Tags               []Tag               `json:"Tags,omitempty"`
}

// InputConfig is RecommendationJobInputConfig.
type InputConfig struct {
	ModelPackageVersionArn string                       `json:"ModelPackageVersionArn,omitempty"`
	ModelName              string                       `json:"ModelName,omitempty"`
	JobDurationInSeconds   int                          `json:"JobDurationInSeconds,omitempty"`
	TrafficPattern         *TrafficPattern              `json:"TrafficPattern,omitempty"`
	ResourceLimit          *ResourceLimit               `json:"ResourceLimit,omitempty"`
	EndpointConfigurations []EndpointInputConfiguration `json:"EndpointConfigurations,omitempty"`
	VolumeKmsKeyId         string                       `json:"VolumeKmsKeyId,omitempty"`
	ContainerConfig        *ContainerConfig             `json:"ContainerConfig,omitempty"`
	Endpoints              []EndpointInfo               `json:"Endpoints,omitempty"`
	VpcConfig              *VpcConfig                   `json:"VpcConfig,omitempty"`
}

// TrafficPattern is the load an Advanced job applies.
type TrafficPattern struct {
	TrafficType string  `json:"TrafficType,omitempty"`
	Phases      []Phase `json:"Phases,omitempty"`
	Stairs      *Stairs `json:"Stairs,omitempty"`
}

// Phase is one stretch of a PHASES traffic pattern: it starts with
// InitialNumberOfUsers and adds SpawnRate users a minute.
type Phase struct {
	InitialNumberOfUsers int `json:"InitialNumberOfUsers,omitempty"`
	SpawnRate            int `json:"SpawnRate"`
	DurationInSeconds    int `json:"DurationInSeconds,omitempty"`
}

// Stairs is a STAIRS traffic pattern: NumberOfSteps steps of
// DurationInSeconds each, each adding UsersPerStep users.
type Stairs struct {
	DurationInSeconds int `json:"DurationInSeconds,omitempty"`
	NumberOfSteps     int `json:"NumberOfSteps,omitempty"`
	UsersPerStep      int `json:"UsersPerStep,omitempty"`
}

// ResourceLimit bounds how many benchmarks a job runs, and how many at once.
type ResourceLimit struct {
	MaxNumberOfTests   int `json:"MaxNumberOfTests,omitempty"`
	MaxParallelOfTests int `json:"MaxParallelOfTests,omitempty"`
}

// EndpointInputConfiguration is one instance type to benchmark, with the
// environment variables to try on it.
type EndpointInputConfiguration struct {
	InstanceType               string                      `json:"InstanceType,omitempty"`
	ServerlessConfig           *ServerlessConfig           `json:"ServerlessConfig,omitempty"`
	InferenceSpecificationName string                      `json:"InferenceSpecificationName,omitempty"`
	EnvironmentParameterRanges *EnvironmentParameterRanges `json:"EnvironmentParameterRanges,omitempty"`
}

// ServerlessConfig is ProductionVariantServerlessConfig.
type ServerlessConfig struct {
	MemorySizeInMB         int `json:"MemorySizeInMB"`
	MaxConcurrency         int `json:"MaxConcurrency"`
	ProvisionedConcurrency int `json:"ProvisionedConcurrency,omitempty"`
}

// EnvironmentParameterRanges lists environment variables and the values to
// try; the job benchmarks every combination.
type EnvironmentParameterRanges struct {
	CategoricalParameterRanges []CategoricalParameter `json:"CategoricalParameterRanges,omitempty"`
}

// CategoricalParameter is one environment variable and its candidate values.
type CategoricalParameter struct {
	Name  string   `json:"Name"`
	Value []string `json:"Value"`
}

// ContainerConfig describes the model's container.
type ContainerConfig struct {
	Domain                     string         `json:"Domain,omitempty"`
	Task                       string         `json:"Task,omitempty"`
	Framework                  string         `json:"Framework,omitempty"`
	FrameworkVersion           string         `json:"FrameworkVersion,omitempty"`
	PayloadConfig              *PayloadConfig `json:"PayloadConfig,omitempty"`
	NearestModelName           string         `json:"NearestModelName,omitempty"`
	SupportedInstanceTypes     []string       `json:"SupportedInstanceTypes,omitempty"`
	SupportedEndpointType      string         `json:"SupportedEndpointType,omitempty"`
	DataInputConfig            string         `json:"DataInputConfig,omitempty"`
	SupportedResponseMIMETypes []string       `json:"SupportedResponseMIMETypes,omitempty"`
}

// PayloadConfig names the sample payloads.
type PayloadConfig struct {
	SamplePayloadUrl      string   `json:"SamplePayloadUrl,omitempty"`
	SupportedContentTypes []string `json:"SupportedContentTypes,omitempty"`
}

// EndpointInfo names an existing endpoint to benchmark.
type EndpointInfo struct {
	EndpointName string `json:"EndpointName,omitempty"`
}

// VpcConfig is RecommendationJobVpcConfig; it has no effect here.
type VpcConfig struct {
	SecurityGroupIds []string `json:"SecurityGroupIds"`
	Subnets          []string `json:"Subnets"`
}

// OutputConfig is RecommendationJobOutputConfig; it has no effect here.
type OutputConfig struct {
	KmsKeyId             string                `json:"KmsKeyId,omitempty"`
	CompiledOutputConfig *CompiledOutputConfig `json:"CompiledOutputConfig,omitempty"`
}

// CompiledOutputConfig is RecommendationJobCompiledOutputConfig.
type CompiledOutputConfig struct {
	S3OutputUri string `json:"S3OutputUri,omitempty"`
}

// StoppingConditions end an Advanced job's load early.
type StoppingConditions struct {
	MaxInvocations         int                     `json:"MaxInvocations,omitempty"`
	ModelLatencyThresholds []ModelLatencyThreshold `json:"ModelLatencyThresholds,omitempty"`
	FlatInvocations        string                  `json:"FlatInvocations,omitempty"`
}

// ModelLatencyThreshold is a latency percentile ("P95" or "P99") the model
// must stay under.
type ModelLatencyThreshold struct {
	Percentile          string `json:"Percentile,omitempty"`
	ValueInMilliseconds int    `json:"ValueInMilliseconds,omitempty"`
}

// Tag is a key-value pair.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// JobDescription is DescribeInferenceRecommendationsJobResponse.
type JobDescription struct {
	JobName                  string                `json:"JobName"`
	JobDescription           string                `json:"JobDescription,omitempty"`
	JobType                  string                `json:"JobType"`
	JobArn                   string                `json:"JobArn"`
	RoleArn                  string                `json:"RoleArn"`
	Status                   string                `json:"Status"`
	CreationTime             awstime.Timestamp     `json:"CreationTime"`
	CompletionTime           *awstime.Timestamp    `json:"CompletionTime,omitempty"`
	LastModifiedTime         awstime.Timestamp     `json:"LastModifiedTime"`
	FailureReason            string                `json:"FailureReason,omitempty"`
	InputConfig              InputConfig           `json:"InputConfig"`
	StoppingConditions       *StoppingConditions   `json:"StoppingConditions,omitempty"`
	InferenceRecommendations []Recommendation      `json:"InferenceRecommendations,omitempty"`
	EndpointPerformances     []EndpointPerformance `json:"EndpointPerformances,omitempty"`
}

// Recommendation is InferenceRecommendation: one benchmarked configuration.
type Recommendation struct {
	RecommendationId      string                      `json:"RecommendationId,omitempty"`
	Metrics               *Metrics                    `json:"Metrics,omitempty"`
	EndpointConfiguration EndpointOutputConfiguration `json:"EndpointConfiguration"`
	ModelConfiguration    ModelConfiguration          `json:"ModelConfiguration"`
	InvocationEndTime     *awstime.Timestamp          `json:"InvocationEndTime,omitempty"`
	InvocationStartTime   *awstime.Timestamp          `json:"InvocationStartTime,omitempty"`
}

// Metrics is RecommendationMetrics. Pointers are absent when not measured
// (no price, no CPU reading from an external server).
type Metrics struct {
	CostPerHour       *float64 `json:"CostPerHour,omitempty"`
	CostPerInference  *float64 `json:"CostPerInference,omitempty"`
	MaxInvocations    int      `json:"MaxInvocations"`
	ModelLatency      int      `json:"ModelLatency"` // microseconds
	CpuUtilization    *float64 `json:"CpuUtilization,omitempty"`
	MemoryUtilization *float64 `json:"MemoryUtilization,omitempty"`
	ModelSetupTime    *int     `json:"ModelSetupTime,omitempty"` // seconds
}

// EndpointOutputConfiguration is the endpoint a recommendation describes.
type EndpointOutputConfiguration struct {
	EndpointName         string            `json:"EndpointName"`
	VariantName          string            `json:"VariantName"`
	InstanceType         string            `json:"InstanceType,omitempty"`
	InitialInstanceCount int               `json:"InitialInstanceCount,omitempty"`
	ServerlessConfig     *ServerlessConfig `json:"ServerlessConfig,omitempty"`
}

// ModelConfiguration is the environment a recommendation was measured with.
type ModelConfiguration struct {
	InferenceSpecificationName string                 `json:"InferenceSpecificationName,omitempty"`
	EnvironmentParameters      []EnvironmentParameter `json:"EnvironmentParameters,omitempty"`
	CompilationJobName         string                 `json:"CompilationJobName,omitempty"`
}

// EnvironmentParameter is one environment variable of a configuration.
type EnvironmentParameter struct {
	Key       string `json:"Key"`
	ValueType string `json:"ValueType"`
	Value     string `json:"Value"`
}

// EndpointPerformance is the measurement of an existing endpoint.
type EndpointPerformance struct {
	Metrics      InferenceMetrics `json:"Metrics"`
	EndpointInfo EndpointInfo     `json:"EndpointInfo"`
}

// InferenceMetrics is the pair of metrics measured on an existing endpoint.
type InferenceMetrics struct {
	MaxInvocations int `json:"MaxInvocations"`
	ModelLatency   int `json:"ModelLatency"`
}

// JobStep is InferenceRecommendationsJobStep.
type JobStep struct {
	StepType           string     `json:"StepType"`
	JobName            string     `json:"JobName"`
	Status             string     `json:"Status"`
	InferenceBenchmark *Benchmark `json:"InferenceBenchmark,omitempty"`
}

// Benchmark is RecommendationJobInferenceBenchmark.
type Benchmark struct {
	Metrics               *Metrics                     `json:"Metrics,omitempty"`
	EndpointMetrics       *InferenceMetrics            `json:"EndpointMetrics,omitempty"`
	EndpointConfiguration *EndpointOutputConfiguration `json:"EndpointConfiguration,omitempty"`
	ModelConfiguration    ModelConfiguration           `json:"ModelConfiguration"`
	FailureReason         string                       `json:"FailureReason,omitempty"`
	InvocationEndTime     *awstime.Timestamp           `json:"InvocationEndTime,omitempty"`
	InvocationStartTime   *awstime.Timestamp           `json:"InvocationStartTime,omitempty"`
}

// ScalingRequest is GetScalingConfigurationRecommendationRequest.
type ScalingRequest struct {
	InferenceRecommendationsJobName string                  `json:"InferenceRecommendationsJobName"`
	RecommendationId                string                  `json:"RecommendationId,omitempty"`
	EndpointName                    string                  `json:"EndpointName,omitempty"`
	TargetCpuUtilizationPerCore     int                     `json:"TargetCpuUtilizationPerCore,omitempty"`
	ScalingPolicyObjective          *ScalingPolicyObjective `json:"ScalingPolicyObjective,omitempty"`
}

// ScalingPolicyObjective is the traffic range the endpoint must serve.
type ScalingPolicyObjective struct {
	MinInvocationsPerMinute int `json:"MinInvocationsPerMinute,omitempty"`
	MaxInvocationsPerMinute int `json:"MaxInvocationsPerMinute,omitempty"`
}

// ScalingRecommendation is GetScalingConfigurationRecommendationResponse.
type ScalingRecommendation struct {
	InferenceRecommendationsJobName string                  `json:"InferenceRecommendationsJobName"`
	RecommendationId                string                  `json:"RecommendationId,omitempty"`
	EndpointName                    string                  `json:"EndpointName,omitempty"`
	TargetCpuUtilizationPerCore     int                     `json:"TargetCpuUtilizationPerCore"`
	ScalingPolicyObjective          *ScalingPolicyObjective `json:"ScalingPolicyObjective,omitempty"`
	Metric                          ScalingPolicyMetric     `json:"Metric"`
	DynamicScalingConfiguration     DynamicScaling          `json:"DynamicScalingConfiguration"`
}

// ScalingPolicyMetric is the per-instance load the policy targets and the
// latency measured at it.
type ScalingPolicyMetric struct {
	InvocationsPerInstance int `json:"InvocationsPerInstance"`
	ModelLatency           int `json:"ModelLatency"` // microseconds
}

// DynamicScaling is DynamicScalingConfiguration.
type DynamicScaling struct {
	MinCapacity      int             `json:"MinCapacity"`
	MaxCapacity      int             `json:"MaxCapacity"`
	ScaleInCooldown  int             `json:"ScaleInCooldown"`
	ScaleOutCooldown int             `json:"ScaleOutCooldown"`
	ScalingPolicies  []ScalingPolicy `json:"ScalingPolicies"`
}

// ScalingPolicy is one recommended policy.
type ScalingPolicy struct {
	TargetTracking *TargetTracking `json:"TargetTracking,omitempty"`
}

// TargetTracking is TargetTrackingScalingPolicyConfiguration.
type TargetTracking struct {
	MetricSpecification MetricSpecification `json:"MetricSpecification"`
	TargetValue         float64             `json:"TargetValue"`
}

// MetricSpecification names the metric a policy tracks.
type MetricSpecification struct {
	Predefined *PredefinedMetric `json:"Predefined,omitempty"`
}

// PredefinedMetric is PredefinedMetricSpecification.
type PredefinedMetric struct {
	PredefinedMetricType string `json:"PredefinedMetricType"`
}
