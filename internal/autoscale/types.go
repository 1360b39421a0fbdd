package autoscale

import (
	"github.com/inferscale/inferscale/internal/awstime"
)

// The API shapes. JSON names are the botocore model's member names; the
// api package checks them against the model when the operations are
// registered.

// Policy types.
const (
	PolicyTargetTracking = "TargetTrackingScaling"
	PolicyStep           = "StepScaling"
	PolicyPredictive     = "PredictiveScaling"
)

// Step adjustment types.
const (
	ChangeInCapacity        = "ChangeInCapacity"
	PercentChangeInCapacity = "PercentChangeInCapacity"
	ExactCapacity           = "ExactCapacity"
)

// Scaling activity status codes.
const (
	StatusPending     = "Pending"
	StatusInProgress  = "InProgress"
	StatusSuccessful  = "Successful"
	StatusOverridden  = "Overridden"
	StatusUnfulfilled = "Unfulfilled"
	StatusFailed      = "Failed"
)

// Not-scaled reason codes.
const (
	ReasonAlreadyAtMax         = "AlreadyAtMaxCapacity"
	ReasonAlreadyAtMin         = "AlreadyAtMinCapacity"
	ReasonAlreadyAtDesired     = "AlreadyAtDesiredCapacity"
	ReasonAnticipatedFlapping  = "AutoScalingAnticipatedFlapping"
	ReasonTargetUnscalable     = "TargetServicePutResourceAsUnscalable"
	predefinedInvocations      = "SageMakerVariantInvocationsPerInstance"
	predefinedConcurrencyHiRes = "SageMakerVariantConcurrentRequestsPerModelHighResolution"
)

// SuspendedState is a scalable target's suspension flags as the API shows
// them: all three are always present.
type SuspendedState struct {
	DynamicScalingInSuspended  bool `json:"DynamicScalingInSuspended"`
	DynamicScalingOutSuspended bool `json:"DynamicScalingOutSuspended"`
	ScheduledScalingSuspended  bool `json:"ScheduledScalingSuspended"`
}

// suspendedInput is SuspendedState in a request: members not given leave
// the current value unchanged.
type suspendedInput struct {
	DynamicScalingInSuspended  *bool `json:"DynamicScalingInSuspended,omitempty"`
	DynamicScalingOutSuspended *bool `json:"DynamicScalingOutSuspended,omitempty"`
	ScheduledScalingSuspended  *bool `json:"ScheduledScalingSuspended,omitempty"`
}

// apply returns s with the members that in sets.
func (in *suspendedInput) apply(s SuspendedState) SuspendedState {
	if in == nil {
		return s
	}
	if in.DynamicScalingInSuspended != nil {
		s.DynamicScalingInSuspended = *in.DynamicScalingInSuspended
	}
	if in.DynamicScalingOutSuspended != nil {
		s.DynamicScalingOutSuspended = *in.DynamicScalingOutSuspended
	}
	if in.ScheduledScalingSuspended != nil {
		s.ScheduledScalingSuspended = *in.ScheduledScalingSuspended
	}
	return s
}

// ScalableTarget is a registered scalable target.
type ScalableTarget struct {
	ServiceNamespace  string            `json:"ServiceNamespace"`
	ResourceId        string            `json:"ResourceId"`
	ScalableDimension string            `json:"ScalableDimension"`
	MinCapacity       int32             `json:"MinCapacity"`
	MaxCapacity       int32             `json:"MaxCapacity"`
	RoleARN           string            `json:"RoleARN"`
	CreationTime      awstime.Timestamp `json:"CreationTime"`
	SuspendedState    SuspendedState    `json:"SuspendedState"`
	ScalableTargetARN string            `json:"ScalableTargetARN"`
}

// MetricDimension is a CloudWatch dimension.
type MetricDimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// TargetTrackingMetric names a metric of a metric data query.
type TargetTrackingMetric struct {
	Dimensions []MetricDimension `json:"Dimensions,omitempty"`
	MetricName string            `json:"MetricName,omitempty"`
	Namespace  string            `json:"Namespace,omitempty"`
}

// TargetTrackingMetricStat is a metric with its statistic.
type TargetTrackingMetricStat struct {
	Metric TargetTrackingMetric `json:"Metric"`
	Stat   string               `json:"Stat"`
	Unit   string               `json:"Unit,omitempty"`
}

// TargetTrackingMetricDataQuery is one query of a metric-math customized
// metric.
type TargetTrackingMetricDataQuery struct {
	Expression string                    `json:"Expression,omitempty"`
	Id         string                    `json:"Id"`
	Label      string                    `json:"Label,omitempty"`
	MetricStat *TargetTrackingMetricStat `json:"MetricStat,omitempty"`
	ReturnData *bool                     `json:"ReturnData,omitempty"`
}

// CustomizedMetricSpecification is a target-tracking policy's own metric:
// either one metric with a statistic, or metric math (Metrics).
type CustomizedMetricSpecification struct {
	MetricName string                          `json:"MetricName,omitempty"`
	Namespace  string                          `json:"Namespace,omitempty"`
	Dimensions []MetricDimension               `json:"Dimensions,omitempty"`
	Statistic  string                          `json:"Statistic,omitempty"`
	Unit       string                          `json:"Unit,omitempty"`
	Metrics    []TargetTrackingMetricDataQuery `json:"Metrics,omitempty"`
}

// PredefinedMetricSpecification names a predefined metric.
type PredefinedMetricSpecification struct {
	PredefinedMetricType string `json:"PredefinedMetricType"`
	ResourceLabel        string `json:"ResourceLabel,omitempty"`
}

// TargetTrackingScalingPolicyConfiguration configures a target-tracking
// policy.
type TargetTrackingScalingPolicyConfiguration struct {
	TargetValue                   float64                        `json:"TargetValue"`
	PredefinedMetricSpecification *PredefinedMetricSpecification `json:"PredefinedMetricSpecification,omitempty"`
	CustomizedMetricSpecification *CustomizedMetricSpecification `json:"CustomizedMetricSpecification,omitempty"`
	ScaleOutCooldown              *int32                         `json:"ScaleOutCooldown,omitempty"`
	ScaleInCooldown               *int32                         `json:"ScaleInCooldown,omitempty"`
	DisableScaleIn                *bool                          `json:"DisableScaleIn,omitempty"`
}

// StepAdjustment is one step of a step scaling policy: bounds relative to
// the alarm threshold (nil is infinite) and the adjustment.
type StepAdjustment struct {
	MetricIntervalLowerBound *float64 `json:"MetricIntervalLowerBound,omitempty"`
	MetricIntervalUpperBound *float64 `json:"MetricIntervalUpperBound,omitempty"`
	ScalingAdjustment        int32    `json:"ScalingAdjustment"`
}

// StepScalingPolicyConfiguration configures a step scaling policy.
type StepScalingPolicyConfiguration struct {
	AdjustmentType         string           `json:"AdjustmentType,omitempty"`
	StepAdjustments        []StepAdjustment `json:"StepAdjustments,omitempty"`
	MinAdjustmentMagnitude *int32           `json:"MinAdjustmentMagnitude,omitempty"`
	Cooldown               *int32           `json:"Cooldown,omitempty"`
	MetricAggregationType  string           `json:"MetricAggregationType,omitempty"`
}

// PredictiveScalingMetric names a metric of a predictive metric query.
type PredictiveScalingMetric struct {
	Dimensions []MetricDimension `json:"Dimensions,omitempty"`
	MetricName string            `json:"MetricName,omitempty"`
	Namespace  string            `json:"Namespace,omitempty"`
}

// PredictiveScalingMetricStat is a metric with its statistic.
type PredictiveScalingMetricStat struct {
	Metric PredictiveScalingMetric `json:"Metric"`
	Stat   string                  `json:"Stat"`
	Unit   string                  `json:"Unit,omitempty"`
}

// PredictiveScalingMetricDataQuery is one query of a customized predictive
// metric.
type PredictiveScalingMetricDataQuery struct {
	Id         string                       `json:"Id"`
	Expression string                       `json:"Expression,omitempty"`
	MetricStat *PredictiveScalingMetricStat `json:"MetricStat,omitempty"`
	Label      string                       `json:"Label,omitempty"`
	ReturnData *bool                        `json:"ReturnData,omitempty"`
}

// PredictiveScalingCustomizedMetricSpecification is a customized predictive
// metric.
type PredictiveScalingCustomizedMetricSpecification struct {
	MetricDataQueries []PredictiveScalingMetricDataQuery `json:"MetricDataQueries"`
}

// PredictiveScalingPredefinedMetric is a predefined predictive metric (pair,
// load or scaling).
type PredictiveScalingPredefinedMetric struct {
	PredefinedMetricType string `json:"PredefinedMetricType"`
	ResourceLabel        string `json:"ResourceLabel,omitempty"`
}

// PredictiveScalingMetricSpecification is one metric specification of a
// predictive policy.
type PredictiveScalingMetricSpecification struct {
	TargetValue                           float64                                         `json:"TargetValue"`
	PredefinedMetricPairSpecification     *PredictiveScalingPredefinedMetric              `json:"PredefinedMetricPairSpecification,omitempty"`
	PredefinedScalingMetricSpecification  *PredictiveScalingPredefinedMetric              `json:"PredefinedScalingMetricSpecification,omitempty"`
	PredefinedLoadMetricSpecification     *PredictiveScalingPredefinedMetric              `json:"PredefinedLoadMetricSpecification,omitempty"`
	CustomizedScalingMetricSpecification  *PredictiveScalingCustomizedMetricSpecification `json:"CustomizedScalingMetricSpecification,omitempty"`
	CustomizedLoadMetricSpecification     *PredictiveScalingCustomizedMetricSpecification `json:"CustomizedLoadMetricSpecification,omitempty"`
	CustomizedCapacityMetricSpecification *PredictiveScalingCustomizedMetricSpecification `json:"CustomizedCapacityMetricSpecification,omitempty"`
}

// PredictiveScalingPolicyConfiguration configures a predictive policy.
type PredictiveScalingPolicyConfiguration struct {
	MetricSpecifications      []PredictiveScalingMetricSpecification `json:"MetricSpecifications"`
	Mode                      string                                 `json:"Mode,omitempty"`
	SchedulingBufferTime      *int32                                 `json:"SchedulingBufferTime,omitempty"`
	MaxCapacityBreachBehavior string                                 `json:"MaxCapacityBreachBehavior,omitempty"`
	MaxCapacityBuffer         *int32                                 `json:"MaxCapacityBuffer,omitempty"`
}

// Alarm names a CloudWatch alarm of a policy.
type Alarm struct {
	AlarmName string `json:"AlarmName"`
	AlarmARN  string `json:"AlarmARN"`
}

// ScalingPolicy is a scaling policy.
type ScalingPolicy struct {
	PolicyARN                                string                                    `json:"PolicyARN"`
	PolicyName                               string                                    `json:"PolicyName"`
	ServiceNamespace                         string                                    `json:"ServiceNamespace"`
	ResourceId                               string                                    `json:"ResourceId"`
	ScalableDimension                        string                                    `json:"ScalableDimension"`
	PolicyType                               string                                    `json:"PolicyType"`
	StepScalingPolicyConfiguration           *StepScalingPolicyConfiguration           `json:"StepScalingPolicyConfiguration,omitempty"`
	TargetTrackingScalingPolicyConfiguration *TargetTrackingScalingPolicyConfiguration `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	PredictiveScalingPolicyConfiguration     *PredictiveScalingPolicyConfiguration     `json:"PredictiveScalingPolicyConfiguration,omitempty"`
	Alarms                                   []Alarm                                   `json:"Alarms,omitempty"`
	CreationTime                             awstime.Timestamp                         `json:"CreationTime"`
}

// ScalableTargetAction is the Min/Max a scheduled action sets.
type ScalableTargetAction struct {
	MinCapacity *int32 `json:"MinCapacity,omitempty"`
	MaxCapacity *int32 `json:"MaxCapacity,omitempty"`
}

// ScheduledAction is a scheduled action.
type ScheduledAction struct {
	ScheduledActionName  string                `json:"ScheduledActionName"`
	ScheduledActionARN   string                `json:"ScheduledActionARN"`
	ServiceNamespace     string                `json:"ServiceNamespace"`
	Schedule             string                `json:"Schedule"`
	Timezone             string                `json:"Timezone,omitempty"`
	ResourceId           string                `json:"ResourceId"`
	ScalableDimension    string                `json:"ScalableDimension,omitempty"`
	StartTime            *awstime.Timestamp    `json:"StartTime,omitempty"`
	EndTime              *awstime.Timestamp    `json:"EndTime,omitempty"`
	ScalableTargetAction *ScalableTargetAction `json:"ScalableTargetAction,omitempty"`
	CreationTime         awstime.Timestamp     `json:"CreationTime"`
}

// NotScaledReason says why a scaling activity did not scale.
type NotScaledReason struct {
	Code            string `json:"Code"`
	MaxCapacity     *int32 `json:"MaxCapacity,omitempty"`
	MinCapacity     *int32 `json:"MinCapacity,omitempty"`
	CurrentCapacity *int32 `json:"CurrentCapacity,omitempty"`
}

// ScalingActivity is a scaling activity.
type ScalingActivity struct {
	ActivityId        string             `json:"ActivityId"`
	ServiceNamespace  string             `json:"ServiceNamespace"`
	ResourceId        string             `json:"ResourceId"`
	ScalableDimension string             `json:"ScalableDimension"`
	Description       string             `json:"Description"`
	Cause             string             `json:"Cause"`
	StartTime         awstime.Timestamp  `json:"StartTime"`
	EndTime           *awstime.Timestamp `json:"EndTime,omitempty"`
	StatusCode        string             `json:"StatusCode"`
	StatusMessage     string             `json:"StatusMessage,omitempty"`
	Details           string             `json:"Details,omitempty"`
	NotScaledReasons  []NotScaledReason  `json:"NotScaledReasons,omitempty"`
}

func int32p(v int) *int32 { x := int32(v); return &x }
