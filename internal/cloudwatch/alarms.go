package cloudwatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

// kindAlarm is the store kind of metric alarms.
const kindAlarm = "alarm"

// Alarm limits.
const (
	maxAlarmTags              = 50
	defaultDescribeMaxRecords = 50
	maxEvalSecondsShort       = 24 * 60 * 60     // periods under an hour
	maxEvalSecondsLong        = 7 * 24 * 60 * 60 // periods of an hour or more
)

// ErrAlarmNotFound is returned (wrapped) by the Go API for alarms that do
// not exist.
var ErrAlarmNotFound = errors.New("alarm not found")

// tag is a resource tag.
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// MetricAlarm is a stored metric alarm: its configuration, state and
// timestamps, as DescribeAlarms returns it.
type MetricAlarm struct {
	AlarmSpec
	AlarmArn                           string        `json:"AlarmArn"`
	AlarmConfigurationUpdatedTimestamp api.Timestamp `json:"AlarmConfigurationUpdatedTimestamp"`
	StateValue                         string        `json:"StateValue"`
	StateReason                        string        `json:"StateReason"`
	StateReasonData                    string        `json:"StateReasonData,omitempty"`
	StateUpdatedTimestamp              api.Timestamp `json:"StateUpdatedTimestamp"`
	StateTransitionedTimestamp         api.Timestamp `json:"StateTransitionedTimestamp"`
}

// actionsEnabled reports whether the alarm runs its actions (the default).
func (a *AlarmSpec) actionsEnabled() bool { return a.ActionsEnabled == nil || *a.ActionsEnabled }

// actionsFor returns the actions of a state.
func (a *AlarmSpec) actionsFor(state string) []string {
	switch state {
	case StateOK:
		return a.OKActions
	case StateAlarm:
		return a.AlarmActions
	case StateInsufficientData:
		return a.InsufficientDataActions
	}
	return nil
}

// isMath reports whether the alarm watches a metric math expression.
func (a *AlarmSpec) isMath() bool { return len(a.Metrics) > 0 }

// returnQuery is the query of a math alarm whose result the alarm watches.
func (a *AlarmSpec) returnQuery() *MetricDataQuery {
	for i := range a.Metrics {
		if rd := a.Metrics[i].ReturnData; rd == nil || *rd {
			return &a.Metrics[i]
		}
	}
	return nil
}

// DatapointPeriod is the length of the alarm's datapoints: Period, or the
// period of its metric math queries.
func (a *AlarmSpec) DatapointPeriod() time.Duration {
	if !a.isMath() {
		return time.Duration(a.Period) * time.Second
	}
	for _, q := range a.Metrics {
		if q.MetricStat != nil {
			return time.Duration(q.MetricStat.Period) * time.Second
		}
	}
	if q := a.returnQuery(); q != nil && q.Period > 0 {
		return time.Duration(q.Period) * time.Second
	}
	return time.Minute
}

// alarmARN is the ARN of an alarm.
func alarmARN(region, account, name string) string {
	return "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + name
}

func alarmKey(account, region, name string) store.Key {
	return store.Key{Account: account, Region: region, Kind: kindAlarm, Name: name}
}

// CheckAlarm validates an alarm's configuration the way PutMetricAlarm
// does beyond the service model's constraints, for an alarm of account
// ("" for none: no cross-account metrics), and fills in defaults. Errors
// are *api.Error values with CloudWatch's codes and messages. `inferscale
// simulate` checks its alarm files with it.
func CheckAlarm(spec *AlarmSpec, account string) error { return checkSpec(spec, account) }

// checkSpec validates an alarm's configuration beyond the model's
// constraints, the way CloudWatch does, and fills in defaults.
func checkSpec(spec *AlarmSpec, account string) error {
	switch spec.ComparisonOperator {
	case GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold:
	case "":
		return missingParam("The parameter ComparisonOperator is required.")
	default:
		return validation("ComparisonOperator %s is for anomaly detection alarms, which inferscale does not support; use GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold.", spec.ComparisonOperator)
	}
	if spec.ThresholdMetricID != "" {
		return validation("ThresholdMetricId is for anomaly detection alarms, which inferscale does not support; set Threshold instead.")
	}
	if spec.Threshold == nil {
		return missingParam("The parameter Threshold is required for alarms based on static thresholds.")
	}
	if v := *spec.Threshold; math.IsNaN(v) || math.IsInf(v, 0) {
		return validation("The value %s for parameter Threshold is invalid.", formatJava(v))
	}
	if spec.EvaluationPeriods < 1 {
		return missingParam("The parameter EvaluationPeriods is required and must be at least 1.")
	}
	if spec.DatapointsToAlarm > spec.EvaluationPeriods {
		return validation("DatapointsToAlarm (%d) must be less than or equal to EvaluationPeriods (%d).", spec.DatapointsToAlarm, spec.EvaluationPeriods)
	}
	switch spec.TreatMissingData {
	case "", TreatMissing, TreatBreaching, TreatNotBreaching, TreatIgnore:
	default:
		return validation("The value %s for parameter TreatMissingData is invalid: valid values are breaching, notBreaching, ignore and missing.", spec.TreatMissingData)
	}
	switch spec.EvaluateLowSampleCountPercentile {
	case "", "evaluate", "ignore":
	default:
		return validation("The value %s for parameter EvaluateLowSampleCountPercentile is invalid: valid values are evaluate and ignore.", spec.EvaluateLowSampleCountPercentile)
	}
	for _, list := range []struct {
		name string
		arns []string
	}{{"OKActions", spec.OKActions}, {"AlarmActions", spec.AlarmActions}, {"InsufficientDataActions", spec.InsufficientDataActions}} {
		for i, a := range list.arns {
			if !strings.HasPrefix(a, "arn:") || strings.Count(a, ":") < 5 {
				return validation("The value %s for parameter %s.member.%d is not a valid ARN.", a, list.name, i+1)
			}
		}
	}
	var period int32
	if spec.isMath() {
		if spec.MetricName != "" || spec.Namespace != "" || len(spec.Dimensions) > 0 || spec.Period != 0 || spec.Unit != "" || spec.Statistic != "" || spec.ExtendedStatistic != "" {
			return invalidCombination("The parameters Metrics and MetricName, Namespace, Dimensions, Period, Unit, Statistic or ExtendedStatistic are mutually exclusive: an alarm on metric math sets them in Metrics.")
		}
		returning := 0
		for i, q := range spec.Metrics {
			if rd := q.ReturnData; rd == nil || *rd {
				returning++
			}
			if q.AccountID != "" && q.AccountID != account {
				return validation("The value %s for parameter Metrics.member.%d.AccountId is invalid: inferscale has no cross-account alarms.", q.AccountID, i+1)
			}
			if q.MetricStat != nil {
				if period != 0 && q.MetricStat.Period != period {
					return validation("All metrics of an alarm must have the same period; Metrics.member.%d.MetricStat.Period is %d, not %d.", i+1, q.MetricStat.Period, period)
				}
				period = q.MetricStat.Period
			}
		}
		if returning != 1 {
			return validation("Exactly one element of the metrics list should return data.")
		}
		if _, err := newQuerySet(nil, spec.Metrics, time.Time{}, time.Time{}, "Metrics"); err != nil {
			return err
		}
		if period == 0 {
			q := spec.returnQuery()
			if q.Period == 0 {
				return validation("The alarm's expression uses no metric; set Period on Metrics.member with ReturnData.")
			}
			period = q.Period
		}
	} else {
		switch {
		case spec.MetricName == "":
			return missingParam("One of the parameters MetricName or Metrics must be specified.")
		case spec.Namespace == "":
			return missingParam("The parameter Namespace is required for an alarm on MetricName.")
		case (spec.Statistic == "") == (spec.ExtendedStatistic == ""):
			return invalidCombination("Exactly one of Statistic and ExtendedStatistic must be specified.")
		case spec.Period == 0:
			return missingParam("The parameter Period is required for an alarm on MetricName.")
		}
		if spec.ExtendedStatistic != "" && !validStat(spec.ExtendedStatistic) {
			return validation("The value %s for parameter ExtendedStatistic is not supported: inferscale computes percentiles pNN.NN, not trimmed or winsorized means.", spec.ExtendedStatistic)
		}
		if err := checkPeriod(spec.Period, "Period"); err != nil {
			return err
		}
		period = spec.Period
	}
	if period < 10 || (period%60 != 0 && period != 10 && period != 20 && period != 30) {
		return validation("Period (%d) not supported: supported periods are 10, 20, 30 and multiples of 60.", period)
	}
	total := int64(period) * int64(spec.EvaluationPeriods)
	limit := int64(maxEvalSecondsShort)
	if period >= 3600 {
		limit = maxEvalSecondsLong
	}
	if total > limit {
		return validation("The evaluation period of the alarm (Period %d × EvaluationPeriods %d = %d seconds) can be at most %d seconds: one day for periods under an hour, seven days otherwise.", period, spec.EvaluationPeriods, total, limit)
	}
	if spec.ActionsEnabled == nil {
		t := true
		spec.ActionsEnabled = &t
	}
	return nil
}

type putMetricAlarmInput struct {
	AlarmSpec
	// Threshold shadows AlarmSpec's, so that NaN and the infinities, which
	// every protocol can carry, reach checkSpec and are refused with
	// CloudWatch's error rather than fail to decode.
	Threshold          *api.Double         `json:"Threshold,omitempty"`
	Tags               []tag               `json:"Tags,omitempty"`
	EvaluationCriteria *evaluationCriteria `json:"EvaluationCriteria,omitempty"`
	EvaluationInterval int32               `json:"EvaluationInterval,omitempty"`
}

type evaluationCriteria struct {
	PromQLCriteria *promQLCriteria `json:"PromQLCriteria,omitempty"`
}

type promQLCriteria struct {
	Query          string `json:"Query"`
	PendingPeriod  int32  `json:"PendingPeriod,omitempty"`
	RecoveryPeriod int32  `json:"RecoveryPeriod,omitempty"`
}

func (s *Service) alarmOps() []*api.Operation {
	return []*api.Operation{
		api.Op("PutMetricAlarm", s.putMetricAlarm),
		api.Op("DescribeAlarms", s.describeAlarms),
		api.Op("DescribeAlarmsForMetric", s.describeAlarmsForMetric),
		api.Op("DeleteAlarms", s.deleteAlarmsOp),
		api.Op("SetAlarmState", s.setAlarmState),
		api.Op("EnableAlarmActions", s.enableAlarmActions),
		api.Op("DisableAlarmActions", s.disableAlarmActions),
		api.Op("DescribeAlarmHistory", s.describeAlarmHistory),
	}
}

func (s *Service) putMetricAlarm(ctx context.Context, req *api.Request, in *putMetricAlarmInput) (*struct{}, error) {
	if in.EvaluationCriteria != nil {
		return nil, validation("EvaluationCriteria (PromQL alarms) is not supported by inferscale.")
	}
	if in.EvaluationInterval != 0 {
		return nil, invalidCombination("EvaluationInterval can only be specified for alarms that use EvaluationCriteria.")
	}
	spec := in.AlarmSpec
	if in.Threshold != nil {
		v := float64(*in.Threshold)
		spec.Threshold = &v
	}
	_, err := s.putAlarm(ctx, req.Account, req.Region, spec, in.Tags, s.now(req))
	return nil, err
}

// PutAlarm creates or replaces a metric alarm, as PutMetricAlarm does, and
// returns its ARN. A new alarm starts in INSUFFICIENT_DATA; an existing
// one keeps its state. Validation errors are *api.Error values with
// CloudWatch's codes and messages.
func (s *Service) PutAlarm(ctx context.Context, account, region string, spec AlarmSpec) (string, error) {
	return s.putAlarm(ctx, account, region, spec, nil, s.now(nil))
}

func (s *Service) putAlarm(ctx context.Context, account, region string, spec AlarmSpec, tags []tag, now time.Time) (string, error) {
	now = now.Truncate(time.Millisecond)
	if err := checkSpec(&spec, account); err != nil {
		return "", err
	}
	if err := checkTagKeys(tags); err != nil {
		return "", err
	}
	if spec.isMath() && s.Metrics != nil {
		// Evaluate the expression once: it must yield one time series.
		p := spec.DatapointPeriod()
		if _, err := AlarmDatapoints(s.Metrics.In(MetricsScope(account, region)), &spec, now.Truncate(p)); err != nil {
			if isAPIError(err) {
				return "", err
			}
			return "", validation("The alarm's metric math cannot be evaluated: %v.", err)
		}
	}
	arn := alarmARN(region, account, spec.AlarmName)
	key := alarmKey(account, region, spec.AlarmName)
	for attempt := 0; attempt < 3; attempt++ {
		// Update: the configuration is replaced, the state kept, tags
		// ignored.
		var before, after MetricAlarm
		_, err := s.Store.Mutate(ctx, key, func(r *store.Resource) error {
			if err := json.Unmarshal(r.Doc, &before); err != nil {
				return fmt.Errorf("decode alarm: %w", err)
			}
			after = before
			after.AlarmSpec = spec
			after.AlarmConfigurationUpdatedTimestamp = api.Timestamp{Time: now}
			r.Updated = now
			b, err := json.Marshal(&after)
			r.Doc = b
			return err
		})
		if err == nil {
			s.recordConfig(ctx, account, region, "Update", &before, &after, now)
			return arn, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("put alarm %s: %w", spec.AlarmName, err)
		}
		a := MetricAlarm{
			AlarmSpec:                          spec,
			AlarmArn:                           arn,
			AlarmConfigurationUpdatedTimestamp: api.Timestamp{Time: now},
			StateValue:                         StateInsufficientData,
			StateReason:                        "Unchecked: Initial alarm creation",
			StateUpdatedTimestamp:              api.Timestamp{Time: now},
			StateTransitionedTimestamp:         api.Timestamp{Time: now},
		}
		doc, err := json.Marshal(&a)
		if err != nil {
			return "", fmt.Errorf("encode alarm %s: %w", spec.AlarmName, err)
		}
		storeTags := make([]store.Tag, len(tags))
		for i, t := range tags {
			storeTags[i] = store.Tag{Key: t.Key, Value: t.Value}
		}
		if len(tags) > maxAlarmTags {
			return "", invalidValue("An alarm can have at most %d tags.", maxAlarmTags)
		}
		err = s.Store.Create(ctx, store.Resource{Key: key, ARN: arn, Status: a.StateValue, Doc: doc, Created: now}, storeTags...)
		if err == nil {
			s.recordConfig(ctx, account, region, "Create", nil, &a, now)
			return arn, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return "", fmt.Errorf("put alarm %s: %w", spec.AlarmName, err)
		}
		// Created concurrently: update it.
	}
	return "", fmt.Errorf("put alarm %s: %w", spec.AlarmName, store.ErrConflict)
}

// DescribeAlarm returns the alarm called name, or an error wrapping
// ErrAlarmNotFound.
func (s *Service) DescribeAlarm(ctx context.Context, account, region, name string) (*MetricAlarm, error) {
	a, _, err := s.getAlarm(ctx, account, region, name)
	return a, err
}

// DeleteAlarms deletes alarms by name, with their tags. Unlike the
// DeleteAlarms operation, those that exist are deleted even if some do not
// (what a caller cleaning up its own alarms wants); the error then wraps
// ErrAlarmNotFound and names them.
func (s *Service) DeleteAlarms(ctx context.Context, account, region string, names ...string) error {
	missingNames, err := s.deleteAlarms(ctx, account, region, names, false, s.now(nil))
	if err != nil {
		return err
	}
	if len(missingNames) > 0 {
		return fmt.Errorf("delete alarms %s: %w", strings.Join(missingNames, ", "), ErrAlarmNotFound)
	}
	return nil
}

// deleteAlarms deletes the alarms that exist and returns the names of
// those that do not. If all, it deletes none unless all exist, as the
// DeleteAlarms operation does ("In the event of an error, no alarms are
// deleted"); an alarm another request deletes meanwhile counts as deleted.
func (s *Service) deleteAlarms(ctx context.Context, account, region string, names []string, all bool, now time.Time) (missingNames []string, err error) {
	if all {
		for _, name := range names {
			_, _, err := s.getAlarm(ctx, account, region, name)
			if errors.Is(err, ErrAlarmNotFound) {
				missingNames = append(missingNames, name)
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		if len(missingNames) > 0 {
			return missingNames, nil
		}
	}
	for _, name := range names {
		a, _, err := s.getAlarm(ctx, account, region, name)
		if errors.Is(err, ErrAlarmNotFound) {
			missingNames = append(missingNames, name)
			continue
		}
		if err != nil {
			return nil, err
		}
		err = s.Store.Delete(ctx, alarmKey(account, region, name))
		if errors.Is(err, store.ErrNotFound) {
			if !all {
				missingNames = append(missingNames, name)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("delete alarm %s: %w", name, err)
		}
		s.forget(a.AlarmArn)
		s.recordConfig(ctx, account, region, "Delete", a, nil, now)
	}
	return missingNames, nil
}

func (s *Service) getAlarm(ctx context.Context, account, region, name string) (*MetricAlarm, store.Resource, error) {
	r, err := s.Store.Get(ctx, alarmKey(account, region, name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, r, fmt.Errorf("alarm %s: %w", name, ErrAlarmNotFound)
	}
	if err != nil {
		return nil, r, err
	}
	a, err := decodeAlarm(r)
	return a, r, err
}

func decodeAlarm(r store.Resource) (*MetricAlarm, error) {
	var a MetricAlarm
	if err := json.Unmarshal(r.Doc, &a); err != nil {
		return nil, fmt.Errorf("decode alarm %s: %w", r.Key, err)
	}
	return &a, nil
}

// allAlarms returns the alarms of an account and region, by name, with
// the state filter applied by the store.
func (s *Service) allAlarms(ctx context.Context, account, region, state string) ([]*MetricAlarm, error) {
	q := store.Query{Account: account, Region: region, Kind: kindAlarm, Status: state, SortBy: store.SortByName, Limit: 1000}
	var out []*MetricAlarm
	for {
		rs, next, err := s.Store.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			a, err := decodeAlarm(r)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		if next == "" {
			return out, nil
		}
		q.Token = next
	}
}

type describeAlarmsInput struct {
	AlarmNames          []string `json:"AlarmNames,omitempty"`
	AlarmNamePrefix     string   `json:"AlarmNamePrefix,omitempty"`
	AlarmTypes          []string `json:"AlarmTypes,omitempty"`
	ChildrenOfAlarmName string   `json:"ChildrenOfAlarmName,omitempty"`
	ParentsOfAlarmName  string   `json:"ParentsOfAlarmName,omitempty"`
	StateValue          string   `json:"StateValue,omitempty"`
	ActionPrefix        string   `json:"ActionPrefix,omitempty"`
	MaxRecords          int32    `json:"MaxRecords,omitempty"`
	NextToken           string   `json:"NextToken,omitempty"`
}

type compositeAlarm struct {
	AlarmName string `json:"AlarmName,omitempty"`
}

type describeAlarmsOutput struct {
	CompositeAlarms []compositeAlarm `json:"CompositeAlarms"`
	MetricAlarms    []*MetricAlarm   `json:"MetricAlarms"`
	NextToken       string           `json:"NextToken,omitempty"`
}

// describeAlarms lists metric alarms by name. There are no composite
// alarms, so asking for them, or for an alarm's children or parents,
// yields none.
func (s *Service) describeAlarms(ctx context.Context, req *api.Request, in *describeAlarmsInput) (*describeAlarmsOutput, error) {
	out := &describeAlarmsOutput{CompositeAlarms: []compositeAlarm{}, MetricAlarms: []*MetricAlarm{}}
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != "" {
		return nil, invalidCombination("The parameters AlarmNames and AlarmNamePrefix are mutually exclusive.")
	}
	if in.ChildrenOfAlarmName != "" || in.ParentsOfAlarmName != "" {
		if len(in.AlarmNames) > 0 || in.AlarmNamePrefix != "" || in.StateValue != "" || in.ActionPrefix != "" || len(in.AlarmTypes) > 0 {
			return nil, validation("ChildrenOfAlarmName and ParentsOfAlarmName cannot be combined with other parameters than MaxRecords and NextToken.")
		}
		return out, nil // only composite alarms have children or parents
	}
	if len(in.AlarmTypes) > 0 && !slices.Contains(in.AlarmTypes, "MetricAlarm") {
		return out, nil
	}
	after := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || len(b) == 0 {
			return nil, errBadToken
		}
		after = string(b)
	}
	var alarms []*MetricAlarm
	if len(in.AlarmNames) > 0 {
		names := slices.Clone(in.AlarmNames)
		sort.Strings(names)
		for _, n := range slices.Compact(names) {
			a, _, err := s.getAlarm(ctx, req.Account, req.Region, n)
			if errors.Is(err, ErrAlarmNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if in.StateValue == "" || a.StateValue == in.StateValue {
				alarms = append(alarms, a)
			}
		}
	} else {
		all, err := s.allAlarms(ctx, req.Account, req.Region, in.StateValue)
		if err != nil {
			return nil, err
		}
		alarms = all
	}
	limit := int(in.MaxRecords)
	if limit == 0 {
		limit = defaultDescribeMaxRecords
	}
	for _, a := range alarms {
		if after != "" && a.AlarmName <= after {
			continue
		}
		if in.AlarmNamePrefix != "" && !strings.HasPrefix(a.AlarmName, in.AlarmNamePrefix) {
			continue
		}
		if in.ActionPrefix != "" && !hasActionPrefix(a, in.ActionPrefix) {
			continue
		}
		if len(out.MetricAlarms) == limit {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(out.MetricAlarms[limit-1].AlarmName))
			break
		}
		out.MetricAlarms = append(out.MetricAlarms, a)
	}
	return out, nil
}

func hasActionPrefix(a *MetricAlarm, prefix string) bool {
	for _, list := range [][]string{a.OKActions, a.AlarmActions, a.InsufficientDataActions} {
		for _, arn := range list {
			if strings.HasPrefix(arn, prefix) {
				return true
			}
		}
	}
	return false
}

type describeAlarmsForMetricInput struct {
	MetricName        string      `json:"MetricName"`
	Namespace         string      `json:"Namespace"`
	Statistic         string      `json:"Statistic,omitempty"`
	ExtendedStatistic string      `json:"ExtendedStatistic,omitempty"`
	Dimensions        []Dimension `json:"Dimensions,omitempty"`
	Period            int32       `json:"Period,omitempty"`
	Unit              string      `json:"Unit,omitempty"`
}

type describeAlarmsForMetricOutput struct {
	MetricAlarms []*MetricAlarm `json:"MetricAlarms"`
}

// describeAlarmsForMetric returns the alarms on exactly this metric (same
// dimensions, in any order) that match the optional statistic, period and
// unit; alarms on metric math are not included.
func (s *Service) describeAlarmsForMetric(ctx context.Context, req *api.Request, in *describeAlarmsForMetricInput) (*describeAlarmsForMetricOutput, error) {
	all, err := s.allAlarms(ctx, req.Account, req.Region, "")
	if err != nil {
		return nil, err
	}
	out := &describeAlarmsForMetricOutput{MetricAlarms: []*MetricAlarm{}}
	for _, a := range all {
		switch {
		case a.isMath(), a.Namespace != in.Namespace, a.MetricName != in.MetricName,
			!sameDimensions(a.Dimensions, in.Dimensions),
			in.Statistic != "" && a.Statistic != in.Statistic,
			in.ExtendedStatistic != "" && a.ExtendedStatistic != in.ExtendedStatistic,
			in.Period != 0 && a.Period != in.Period,
			in.Unit != "" && a.Unit != in.Unit:
			continue
		}
		out.MetricAlarms = append(out.MetricAlarms, a)
	}
	return out, nil
}

func sameDimensions(a, b []Dimension) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(ds []Dimension) []string {
		out := make([]string, len(ds))
		for i, d := range ds {
			out[i] = d.Name + "\x00" + d.Value
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

type alarmNamesInput struct {
	AlarmNames []string `json:"AlarmNames"`
}

// deleteAlarmsOp deletes the named alarms if they all exist, and otherwise
// deletes none and answers ResourceNotFound, naming those that do not.
func (s *Service) deleteAlarmsOp(ctx context.Context, req *api.Request, in *alarmNamesInput) (*struct{}, error) {
	missingNames, err := s.deleteAlarms(ctx, req.Account, req.Region, in.AlarmNames, true, s.now(req))
	if err != nil {
		return nil, err
	}
	if len(missingNames) > 0 {
		what := "Alarm"
		if len(missingNames) > 1 {
			what = "Alarms"
		}
		return nil, &api.Error{Kind: api.KindNotFound, Code: codeResourceNotFound,
			Message: fmt.Sprintf("%s not found: %s", what, strings.Join(missingNames, ", "))}
	}
	return nil, nil
}

func (s *Service) enableAlarmActions(ctx context.Context, req *api.Request, in *alarmNamesInput) (*struct{}, error) {
	return nil, s.setActionsEnabled(ctx, req, in.AlarmNames, true)
}

func (s *Service) disableAlarmActions(ctx context.Context, req *api.Request, in *alarmNamesInput) (*struct{}, error) {
	return nil, s.setActionsEnabled(ctx, req, in.AlarmNames, false)
}

// setActionsEnabled changes ActionsEnabled of the named alarms; names of
// alarms that do not exist are ignored, as CloudWatch ignores them.
func (s *Service) setActionsEnabled(ctx context.Context, req *api.Request, names []string, enabled bool) error {
	for _, name := range names {
		_, err := s.Store.Mutate(ctx, alarmKey(req.Account, req.Region, name), func(r *store.Resource) error {
			a, err := decodeAlarm(*r)
			if err != nil {
				return err
			}
			a.ActionsEnabled = &enabled
			r.Updated = s.now(req)
			r.Doc, err = json.Marshal(a)
			return err
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("set actions of alarm %s: %w", name, err)
		}
	}
	return nil
}

type setAlarmStateInput struct {
	AlarmName       string `json:"AlarmName"`
	StateValue      string `json:"StateValue"`
	StateReason     string `json:"StateReason"`
	StateReasonData string `json:"StateReasonData,omitempty"`
}

// setAlarmState sets an alarm's state until its next evaluation. When the
// state changes, the new state's actions run (if enabled), with the
// datapoints of StateReasonData's recentDatapoints, which is how Auto
// Scaling policies learn the metric value from a state set by hand.
func (s *Service) setAlarmState(ctx context.Context, req *api.Request, in *setAlarmStateInput) (*struct{}, error) {
	if in.StateReasonData != "" && !json.Valid([]byte(in.StateReasonData)) {
		return nil, codeError(codeInvalidFormat, "The parameter StateReasonData is not valid JSON.")
	}
	now := s.now(req).Truncate(time.Millisecond)
	var before, after *MetricAlarm
	_, err := s.Store.Mutate(ctx, alarmKey(req.Account, req.Region, in.AlarmName), func(r *store.Resource) error {
		a, err := decodeAlarm(*r)
		if err != nil {
			return err
		}
		b := *a
		before = &b
		a.StateReason, a.StateReasonData = in.StateReason, in.StateReasonData
		a.StateUpdatedTimestamp = api.Timestamp{Time: now}
		if a.StateValue != in.StateValue {
			a.StateValue = in.StateValue
			a.StateTransitionedTimestamp = api.Timestamp{Time: now}
		}
		after = a
		r.Status, r.Updated = a.StateValue, now
		r.Doc, err = json.Marshal(a)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, &api.Error{Kind: api.KindNotFound, Code: codeResourceNotFound, Message: fmt.Sprintf("Alarm %s not found", in.AlarmName), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("set alarm state %s: %w", in.AlarmName, err)
	}
	if before.StateValue == after.StateValue {
		return nil, nil
	}
	s.recordState(ctx, req.Account, req.Region, before, after, now)
	ev := AlarmEvent{
		Account: req.Account, Region: req.Region,
		AlarmName: after.AlarmName, AlarmARN: after.AlarmArn,
		State: after.StateValue, Changed: true, Reason: after.StateReason,
		Datapoints: recentDatapoints(after.StateReasonData), Time: now,
	}
	if after.Threshold != nil {
		ev.Threshold = *after.Threshold
	}
	// The request may end before slow actions do; they finish regardless.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), actionTimeout)
	defer cancel()
	s.runActions(actx, &after.AlarmSpec, ev)
	s.markRun(after.AlarmArn, now)
	return nil, nil
}

// recentDatapoints reads the recentDatapoints of a StateReasonData JSON.
func recentDatapoints(reasonData string) []float64 {
	var rd struct {
		RecentDatapoints []float64 `json:"recentDatapoints"`
	}
	if reasonData == "" || json.Unmarshal([]byte(reasonData), &rd) != nil {
		return nil
	}
	return rd.RecentDatapoints
}
