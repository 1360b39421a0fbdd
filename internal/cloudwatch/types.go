package cloudwatch

import (
	"context"
	"time"
)

// Alarm states, as CloudWatch names them.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Dimension is one name=value pair of a metric, in the API's JSON form.
type Dimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// MetricRef names one metric.
type MetricRef struct {
	Namespace  string      `json:"Namespace,omitempty"`
	MetricName string      `json:"MetricName,omitempty"`
	Dimensions []Dimension `json:"Dimensions,omitempty"`
}

// MetricStat is a metric, a period and a statistic.
type MetricStat struct {
	Metric MetricRef `json:"Metric"`
	Period int32     `json:"Period"`
	Stat   string    `json:"Stat"`
	Unit   string    `json:"Unit,omitempty"`
}

// MetricDataQuery is one entry of GetMetricData's MetricDataQueries and of
// an alarm's Metrics (metric math): a metric or an expression over others.
type MetricDataQuery struct {
	ID         string      `json:"Id"`
	MetricStat *MetricStat `json:"MetricStat,omitempty"`
	Expression string      `json:"Expression,omitempty"`
	Label      string      `json:"Label,omitempty"`
	ReturnData *bool       `json:"ReturnData,omitempty"`
	Period     int32       `json:"Period,omitempty"`
	AccountID  string      `json:"AccountId,omitempty"`
}

// AlarmSpec is a metric alarm's configuration: PutMetricAlarm's input less
// its tags. Application Auto Scaling creates its target-tracking alarms
// through Service.PutAlarm with one.
type AlarmSpec struct {
	AlarmName                        string            `json:"AlarmName"`
	AlarmDescription                 string            `json:"AlarmDescription,omitempty"`
	ActionsEnabled                   *bool             `json:"ActionsEnabled,omitempty"`
	OKActions                        []string          `json:"OKActions,omitempty"`
	AlarmActions                     []string          `json:"AlarmActions,omitempty"`
	InsufficientDataActions          []string          `json:"InsufficientDataActions,omitempty"`
	Namespace                        string            `json:"Namespace,omitempty"`
	MetricName                       string            `json:"MetricName,omitempty"`
	Dimensions                       []Dimension       `json:"Dimensions,omitempty"`
	Statistic                        string            `json:"Statistic,omitempty"`
	ExtendedStatistic                string            `json:"ExtendedStatistic,omitempty"`
	Period                           int32             `json:"Period,omitempty"`
	Unit                             string            `json:"Unit,omitempty"`
	EvaluationPeriods                int32             `json:"EvaluationPeriods"`
	DatapointsToAlarm                int32             `json:"DatapointsToAlarm,omitempty"`
	Threshold                        *float64          `json:"Threshold,omitempty"`
	ComparisonOperator               string            `json:"ComparisonOperator"`
	TreatMissingData                 string            `json:"TreatMissingData,omitempty"`
	EvaluateLowSampleCountPercentile string            `json:"EvaluateLowSampleCountPercentile,omitempty"`
	Metrics                          []MetricDataQuery `json:"Metrics,omitempty"`
	ThresholdMetricID                string            `json:"ThresholdMetricId,omitempty"`
}

// AlarmEvent is what an alarm action receives: the alarm, the state it is
// in, and the datapoints that put it there.
type AlarmEvent struct {
	Account, Region string
	AlarmName       string
	AlarmARN        string
	State           string // StateOK, StateAlarm or StateInsufficientData
	// Changed is true on the evaluation where the state changed, false when
	// the alarm stays in State and re-runs its actions (CloudWatch re-invokes
	// Auto Scaling actions every period the alarm remains in a state).
	Changed   bool
	Reason    string
	Threshold float64
	// Datapoints are the evaluated values, oldest first; the newest is what
	// step scaling compares with its bounds. Empty when data is missing.
	Datapoints []float64
	// Time is the evaluation time.
	Time time.Time
}

// ActionHandler runs the alarm actions whose ARNs it owns: Application
// Auto Scaling's scaling policies. The alarm loop calls Handle once per
// evaluation for every action ARN of the alarm's current state that the
// handler Owns, while actions are enabled.
type ActionHandler interface {
	// Owns reports whether arn names an action this handler runs.
	Owns(arn string) bool
	// Handle runs the action arn for ev. Errors are logged by the caller.
	Handle(ctx context.Context, arn string, ev AlarmEvent) error
}
