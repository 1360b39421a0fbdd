package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/inferscale/inferscale/internal/api/model"
)

// A tiny SageMaker service for the tests: CreateInferenceRecommendationsJob
// stores the validated input, DescribeInferenceRecommendationsJob returns it
// with canned results and timestamps, and FailingOp-style errors come from
// DeleteInferenceComponent.

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type endpointInputConfig struct {
	InstanceType string `json:"InstanceType,omitempty"`
}

type inputConfig struct {
	ModelPackageVersionArn string                `json:"ModelPackageVersionArn,omitempty"`
	ModelName              string                `json:"ModelName,omitempty"`
	JobDurationInSeconds   *int32                `json:"JobDurationInSeconds,omitempty"`
	EndpointConfigurations []endpointInputConfig `json:"EndpointConfigurations,omitempty"`
}

type createJobInput struct {
	JobName        string      `json:"JobName"`
	JobType        string      `json:"JobType"`
	RoleArn        string      `json:"RoleArn"`
	InputConfig    inputConfig `json:"InputConfig"`
	JobDescription string      `json:"JobDescription,omitempty"`
	Tags           []tag       `json:"Tags,omitempty"`
}

type createJobOutput struct {
	JobArn string `json:"JobArn"`
}

type describeJobInput struct {
	JobName string `json:"JobName"`
}

type recommendationMetrics struct {
	CostPerHour      *float32 `json:"CostPerHour,omitempty"`
	CostPerInference *float32 `json:"CostPerInference,omitempty"`
	MaxInvocations   *int32   `json:"MaxInvocations,omitempty"`
	ModelLatency     *int32   `json:"ModelLatency,omitempty"`
}

type endpointOutputConfig struct {
	EndpointName         string `json:"EndpointName"`
	VariantName          string `json:"VariantName"`
	InstanceType         string `json:"InstanceType,omitempty"`
	InitialInstanceCount *int32 `json:"InitialInstanceCount,omitempty"`
}

type recommendation struct {
	RecommendationID      string                `json:"RecommendationId,omitempty"`
	Metrics               recommendationMetrics `json:"Metrics"`
	EndpointConfiguration endpointOutputConfig  `json:"EndpointConfiguration"`
	ModelConfiguration    struct{}              `json:"ModelConfiguration"`
	InvocationStartTime   *Timestamp            `json:"InvocationStartTime,omitempty"`
	InvocationEndTime     *Timestamp            `json:"InvocationEndTime,omitempty"`
}

type describeJobOutput struct {
	JobName                  string           `json:"JobName"`
	JobDescription           string           `json:"JobDescription,omitempty"`
	JobType                  string           `json:"JobType"`
	JobArn                   string           `json:"JobArn"`
	RoleArn                  string           `json:"RoleArn"`
	Status                   string           `json:"Status"`
	CreationTime             Timestamp        `json:"CreationTime"`
	CompletionTime           *Timestamp       `json:"CompletionTime,omitempty"`
	LastModifiedTime         Timestamp        `json:"LastModifiedTime"`
	InputConfig              inputConfig      `json:"InputConfig"`
	InferenceRecommendations []recommendation `json:"InferenceRecommendations,omitempty"`
}

type deleteComponentInput struct {
	InferenceComponentName string `json:"InferenceComponentName"`
}

// errJobMissing is an internal error that MapError turns into NotFound.
var errJobMissing = errors.New("no such job")

// jobs is the test service's state.
type jobs struct {
	mu      sync.Mutex
	byName  map[string]describeJobOutput
	regions []string // Request.Region of every create
	// seen is the last create input, for tests of decoding.
	seen createJobInput
}

func f32(v float32) *float32 { return &v }
func i32(v int32) *int32     { return &v }

// newJobsService builds the test service on the real SageMaker model.
func newJobsService() (*Service, *jobs) {
	j := &jobs{byName: map[string]describeJobOutput{}}
	svc := NewService(model.MustLoad("sagemaker"))
	svc.CheckOutput = true
	// SageMaker's codes, in one place.
	svc.Codes = Codes{
		KindNotFound:      {"ResourceNotFound", http.StatusBadRequest},
		KindInUse:         {"ResourceInUse", http.StatusBadRequest},
		KindLimitExceeded: {"ResourceLimitExceeded", http.StatusBadRequest},
	}
	svc.MapError = func(err error) *Error {
		if errors.Is(err, errJobMissing) {
			return &Error{Kind: KindNotFound, Message: "Could not find job.", Err: err}
		}
		return nil
	}
	svc.Handle(
		Op("CreateInferenceRecommendationsJob", j.create),
		Op("DescribeInferenceRecommendationsJob", j.describe),
		Op("DeleteInferenceComponent", func(ctx context.Context, req *Request, in *deleteComponentInput) (*struct{}, error) {
			switch in.InferenceComponentName {
			case "limit":
				return nil, Errorf(KindLimitExceeded, "too many components")
			case "conflict":
				return nil, &Error{Code: "ConflictException", Message: "busy"}
			}
			return nil, fmt.Errorf("delete %s: disk on fire", in.InferenceComponentName)
		}),
	)
	return svc, j
}

func (j *jobs) create(ctx context.Context, req *Request, in *createJobInput) (*createJobOutput, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seen = *in
	j.regions = append(j.regions, req.Region)
	if _, ok := j.byName[in.JobName]; ok {
		return nil, Errorf(KindInUse, "Job %s already exists.", in.JobName)
	}
	arn := fmt.Sprintf("arn:aws:sagemaker:%s:%s:inference-recommendations-job/%s", req.Region, req.Account, in.JobName)
	start := req.Time.Add(time.Minute)
	j.byName[in.JobName] = describeJobOutput{
		JobName: in.JobName, JobDescription: in.JobDescription, JobType: in.JobType, JobArn: arn,
		RoleArn: in.RoleArn, Status: "COMPLETED",
		CreationTime: Timestamp{Time: req.Time}, LastModifiedTime: Timestamp{Time: req.Time.Add(90 * time.Minute)},
		CompletionTime: At(req.Time.Add(90 * time.Minute)),
		InputConfig:    in.InputConfig,
		InferenceRecommendations: []recommendation{{
			RecommendationID: "rec-1",
			Metrics:          recommendationMetrics{CostPerHour: f32(0.23), CostPerInference: f32(0.0000021), MaxInvocations: i32(1840), ModelLatency: i32(38)},
			EndpointConfiguration: endpointOutputConfig{EndpointName: "sm-epc-1", VariantName: "v1",
				InstanceType: "ml.c5.xlarge", InitialInstanceCount: i32(1)},
			InvocationStartTime: At(start),
			InvocationEndTime:   At(start.Add(10 * time.Minute)),
		}},
	}
	return &createJobOutput{JobArn: arn}, nil
}

func (j *jobs) describe(ctx context.Context, req *Request, in *describeJobInput) (*describeJobOutput, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out, ok := j.byName[in.JobName]
	if !ok {
		return nil, fmt.Errorf("describe %s: %w", in.JobName, errJobMissing)
	}
	return &out, nil
}
