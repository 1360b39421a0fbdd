package recommend

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/inferscale/inferscale/internal/awstime"
)

// The API views of a job's steps.

// MaxRecommendations is the most recommendations a description lists, as
// the SageMaker model bounds InferenceRecommendations.
const MaxRecommendations = 10

// DefaultVariantName is the variant name of benchmark endpoints, SageMaker's
// default for a single-variant endpoint.
const DefaultVariantName = "AllTraffic"

// RecommendationID is the stable id of a job's step: the job name and a
// hash of the step, like "my-job/1a2b3c4d".
func RecommendationID(jobName string, s StepResult) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d/%s", jobName, s.Index, s.InstanceType)
	for _, e := range s.Environment {
		fmt.Fprintf(h, "/%s=%s", e.Key, e.Value)
	}
	return fmt.Sprintf("%s/%08x", jobName, h.Sum32())
}

// EndpointName is the name of the benchmark endpoint of step index.
func EndpointName(jobName string, index int) string {
	suffix := fmt.Sprintf("-ep%d", index)
	if len(jobName)+len(suffix) > 63 {
		jobName = jobName[:63-len(suffix)]
	}
	return jobName + suffix
}

func (s StepResult) endpoint(jobName string) EndpointOutputConfiguration {
	return EndpointOutputConfiguration{
		EndpointName:         EndpointName(jobName, s.Index),
		VariantName:          DefaultVariantName,
		InstanceType:         s.InstanceType,
		InitialInstanceCount: max(1, s.InstanceCount),
	}
}

func (s StepResult) model() ModelConfiguration {
	return ModelConfiguration{EnvironmentParameters: s.Environment}
}

func timePtr(t time.Time) *awstime.Timestamp {
	if t.IsZero() {
		return nil
	}
	return awstime.At(t)
}

// Recommendations returns the completed steps as recommendations, ranked
// by goals (see Rank), at most MaxRecommendations.
func Recommendations(jobName string, steps []StepResult, g Goals) []Recommendation {
	var recs []Recommendation
	for _, s := range steps {
		if s.Status != StatusCompleted || s.Metrics == nil {
			continue
		}
		m := *s.Metrics
		recs = append(recs, Recommendation{
			RecommendationId:      RecommendationID(jobName, s),
			Metrics:               &m,
			EndpointConfiguration: s.endpoint(jobName),
			ModelConfiguration:    s.model(),
			InvocationStartTime:   timePtr(s.Start),
			InvocationEndTime:     timePtr(s.End),
		})
	}
	Rank(recs, g)
	if len(recs) > MaxRecommendations {
		recs = recs[:MaxRecommendations]
	}
	return recs
}

// JobSteps returns the steps as ListInferenceRecommendationsJobSteps lists
// them.
func JobSteps(jobName string, steps []StepResult) []JobStep {
	out := make([]JobStep, 0, len(steps))
	for _, s := range steps {
		if s.Status == "" {
			continue
		}
		ep := s.endpoint(jobName)
		b := &Benchmark{
			EndpointConfiguration: &ep,
			ModelConfiguration:    s.model(),
			FailureReason:         s.FailureReason,
			InvocationStartTime:   timePtr(s.Start),
			InvocationEndTime:     timePtr(s.End),
		}
		if s.Metrics != nil {
			m := *s.Metrics
			b.Metrics = &m
			b.EndpointMetrics = &InferenceMetrics{MaxInvocations: m.MaxInvocations, ModelLatency: m.ModelLatency}
		}
		out = append(out, JobStep{StepType: "BENCHMARK", JobName: jobName, Status: s.Status, InferenceBenchmark: b})
	}
	return out
}

// JobArn is the ARN of a recommendation job.
func JobArn(region, account, jobName string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:inference-recommendations-job/%s", region, account, jobName)
}

// Describe returns the DescribeInferenceRecommendationsJob view of a job
// run in-process from its report.
func Describe(in JobInput, rep *Report, region, account string, g Goals) JobDescription {
	d := JobDescription{
		JobName:                  in.JobName,
		JobDescription:           in.JobDescription,
		JobType:                  in.JobType,
		JobArn:                   JobArn(region, account, in.JobName),
		RoleArn:                  in.RoleArn,
		Status:                   rep.Status,
		CreationTime:             awstime.Timestamp{Time: rep.Start},
		LastModifiedTime:         awstime.Timestamp{Time: rep.End},
		CompletionTime:           awstime.At(rep.End),
		FailureReason:            rep.FailureReason,
		InputConfig:              in.InputConfig,
		StoppingConditions:       in.StoppingConditions,
		InferenceRecommendations: Recommendations(in.JobName, rep.Steps, g),
	}
	return d
}
