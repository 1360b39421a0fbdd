package autoscale

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/cloudwatch"
	"github.com/inferscale/inferscale/internal/store"
)

type putPolicyInput struct {
	PolicyName                               string                                    `json:"PolicyName"`
	ServiceNamespace                         string                                    `json:"ServiceNamespace"`
	ResourceId                               string                                    `json:"ResourceId"`
	ScalableDimension                        string                                    `json:"ScalableDimension"`
	PolicyType                               string                                    `json:"PolicyType,omitempty"`
	StepScalingPolicyConfiguration           *StepScalingPolicyConfiguration           `json:"StepScalingPolicyConfiguration,omitempty"`
	TargetTrackingScalingPolicyConfiguration *TargetTrackingScalingPolicyConfiguration `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	PredictiveScalingPolicyConfiguration     *PredictiveScalingPolicyConfiguration     `json:"PredictiveScalingPolicyConfiguration,omitempty"`
}

type putPolicyOutput struct {
	PolicyARN string  `json:"PolicyARN"`
	Alarms    []Alarm `json:"Alarms,omitempty"`
}

type describePoliciesInput struct {
	PolicyNames       []string `json:"PolicyNames,omitempty"`
	ServiceNamespace  string   `json:"ServiceNamespace"`
	ResourceId        string   `json:"ResourceId,omitempty"`
	ScalableDimension string   `json:"ScalableDimension,omitempty"`
	MaxResults        *int32   `json:"MaxResults,omitempty"`
	NextToken         string   `json:"NextToken,omitempty"`
}

type describePoliciesOutput struct {
	ScalingPolicies []ScalingPolicy `json:"ScalingPolicies"`
	NextToken       string          `json:"NextToken,omitempty"`
}

type deletePolicyInput struct {
	PolicyName        string `json:"PolicyName"`
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceId        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
}

func invalidf(format string, args ...any) error { return api.Errorf(api.KindInvalid, format, args...) }

// policyNotFound is DeleteScalingPolicy's ObjectNotFoundException.
func policyNotFound(t targetRef, name string) error {
	return api.Errorf(api.KindNotFound, "No scaling policy found for %s, policy name: %s", t.describe(), name)
}

// putScalingPolicy creates or updates a policy. A target-tracking policy's
// alarms are created (or updated in place) in CloudWatch before the policy
// is stored.
func (s *Service) putScalingPolicy(ctx context.Context, req *api.Request, in *putPolicyInput) (*putPolicyOutput, error) {
	t, err := resolveTarget(req, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	unlock := s.lock(t)
	defer unlock()
	target, err := s.getTarget(ctx, t)
	if err != nil {
		return nil, err
	}
	key := s.childKey(t, kindPolicy, in.PolicyName)
	var old *ScalingPolicy
	if r, err := s.Store.Get(ctx, key); err == nil {
		if old, err = decodeDoc[ScalingPolicy](r); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	p, err := buildPolicy(t, in, old)
	if err != nil {
		return nil, err
	}
	if old == nil {
		existing, err := s.children(ctx, t, kindPolicy)
		if err != nil {
			return nil, err
		}
		if len(existing) >= maxPoliciesPerTarget {
			return nil, api.Errorf(api.KindLimitExceeded,
				"The maximum number of scaling policies (%d) for the scalable target %s has been reached.", maxPoliciesPerTarget, t.resourceID)
		}
		id := target.State.ScheduledActionID
		if id == "" {
			id = newUUID()
		}
		p.PolicyARN = policyARN(t, id, in.PolicyName)
		p.CreationTime = awstime.Timestamp{Time: req.Time.UTC().Truncate(time.Millisecond)}
	} else {
		p.PolicyARN, p.CreationTime = old.PolicyARN, old.CreationTime
	}
	created, stale, err := s.syncAlarms(ctx, t, &p, old)
	if err != nil {
		return nil, err
	}
	doc, err := encodeDoc(p)
	if err == nil {
		if old == nil {
			err = s.Store.Create(ctx, store.Resource{Key: key, ARN: p.PolicyARN, Parent: t.name(), Doc: doc, Created: p.CreationTime.Time})
		} else {
			_, err = s.Store.Mutate(ctx, key, func(r *store.Resource) error { r.Doc = doc; return nil })
		}
	}
	if err != nil {
		// The policy was not stored: the alarms it would have added must
		// not stay behind, calling it (even if the request was cancelled).
		if derr := s.deleteAlarms(context.WithoutCancel(ctx), t, created); derr != nil {
			s.logger().Warn("delete the alarms of a scaling policy that was not stored", "policy", in.PolicyName, "err", derr)
		}
		return nil, err
	}
	// Alarms the policy no longer needs go once it no longer names them; if
	// the server stops before, they are left over, and removed when it
	// starts again (removeLeftoverAlarms).
	if err := s.deleteAlarms(ctx, t, stale); err != nil {
		return nil, err
	}
	out := &putPolicyOutput{PolicyARN: p.PolicyARN}
	if p.PolicyType == PolicyTargetTracking {
		out.Alarms = p.Alarms
	}
	return out, nil
}

// buildPolicy validates a PutScalingPolicy request against the policy it
// updates (nil for a new one) and returns the policy to store, without ARN
// and creation time. Configuration members not given keep their values on
// an update of the same type.
func buildPolicy(t targetRef, in *putPolicyInput, old *ScalingPolicy) (ScalingPolicy, error) {
	typ := in.PolicyType
	if typ == "" && old != nil {
		typ = old.PolicyType
	}
	if typ == "" {
		return ScalingPolicy{}, invalidf("PolicyType is required when creating a scaling policy.")
	}
	p := ScalingPolicy{
		PolicyName: in.PolicyName, ServiceNamespace: Namespace, ResourceId: t.resourceID,
		ScalableDimension: Dimension, PolicyType: typ,
	}
	same := old != nil && old.PolicyType == typ
	others := map[string]bool{
		PolicyStep:           in.StepScalingPolicyConfiguration != nil,
		PolicyTargetTracking: in.TargetTrackingScalingPolicyConfiguration != nil,
		PolicyPredictive:     in.PredictiveScalingPolicyConfiguration != nil,
	}
	for other, given := range others {
		if given && other != typ {
			return p, invalidf("A %s policy cannot have a %s configuration.", typ, configName(other))
		}
	}
	switch typ {
	case PolicyTargetTracking:
		cfg := in.TargetTrackingScalingPolicyConfiguration
		if cfg == nil && same {
			cfg = old.TargetTrackingScalingPolicyConfiguration
		}
		if cfg == nil {
			return p, invalidf("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy.")
		}
		if err := validateTargetTracking(cfg, t.variant); err != nil {
			return p, err
		}
		p.TargetTrackingScalingPolicyConfiguration = cfg
	case PolicyStep:
		cfg := in.StepScalingPolicyConfiguration
		if cfg == nil && !same {
			return p, invalidf("StepScalingPolicyConfiguration is required for a StepScaling policy.")
		}
		merged := StepScalingPolicyConfiguration{}
		if same && old.StepScalingPolicyConfiguration != nil {
			merged = *old.StepScalingPolicyConfiguration
		}
		if cfg != nil {
			if cfg.AdjustmentType != "" {
				merged.AdjustmentType = cfg.AdjustmentType
			}
			if cfg.StepAdjustments != nil {
				merged.StepAdjustments = cfg.StepAdjustments
			}
			if cfg.MinAdjustmentMagnitude != nil {
				merged.MinAdjustmentMagnitude = cfg.MinAdjustmentMagnitude
			}
			if cfg.Cooldown != nil {
				merged.Cooldown = cfg.Cooldown
			}
			if cfg.MetricAggregationType != "" {
				merged.MetricAggregationType = cfg.MetricAggregationType
			}
		}
		if err := validateStep(&merged); err != nil {
			return p, err
		}
		p.StepScalingPolicyConfiguration = &merged
	case PolicyPredictive:
		cfg := in.PredictiveScalingPolicyConfiguration
		if cfg == nil && same {
			cfg = old.PredictiveScalingPolicyConfiguration
		}
		if cfg == nil {
			return p, invalidf("PredictiveScalingPolicyConfiguration is required for a PredictiveScaling policy.")
		}
		if err := validatePredictive(cfg); err != nil {
			return p, err
		}
		p.PredictiveScalingPolicyConfiguration = cfg
	}
	return p, nil
}

// ValidatePolicy checks a scaling policy of a variant's target as
// PutScalingPolicy does, and the enumerations decisions depend on, which
// the API layer checks against the service model before: AdjustmentType
// and MetricAggregationType. A policy that PutScalingPolicy would refuse
// (no TargetValue, a negative cooldown, a misspelt AdjustmentType) would
// otherwise decide as something else. `inferscale simulate` checks its
// policy files with it.
func ValidatePolicy(p ScalingPolicy, v Variant) error {
	if c := p.StepScalingPolicyConfiguration; c != nil {
		switch c.AdjustmentType {
		case "", ChangeInCapacity, PercentChangeInCapacity, ExactCapacity:
		default:
			return invalidf("AdjustmentType %s is not one of %s, %s and %s.", c.AdjustmentType, ChangeInCapacity, PercentChangeInCapacity, ExactCapacity)
		}
		switch c.MetricAggregationType {
		case "", "Average", "Minimum", "Maximum":
		default:
			return invalidf("MetricAggregationType %s is not one of Average, Minimum and Maximum.", c.MetricAggregationType)
		}
	}
	_, err := buildPolicy(targetRef{resourceID: v.ResourceID(), variant: v}, &putPolicyInput{
		PolicyName: p.PolicyName, PolicyType: p.PolicyType,
		StepScalingPolicyConfiguration:           p.StepScalingPolicyConfiguration,
		TargetTrackingScalingPolicyConfiguration: p.TargetTrackingScalingPolicyConfiguration,
		PredictiveScalingPolicyConfiguration:     p.PredictiveScalingPolicyConfiguration,
	}, nil)
	return err
}

func configName(policyType string) string {
	switch policyType {
	case PolicyStep:
		return "StepScalingPolicyConfiguration"
	case PolicyTargetTracking:
		return "TargetTrackingScalingPolicyConfiguration"
	}
	return "PredictiveScalingPolicyConfiguration"
}

// maxMetricScale bounds the model's MetricScale values (target values,
// step bounds): "Values must be in the range of -2^360 to 2^360."
var maxMetricScale = math.Ldexp(1, 360)

func checkMetricScale(name string, v float64) error {
	if math.IsNaN(v) || v < -maxMetricScale || v > maxMetricScale {
		return invalidf("%s must be in the range of -2^360 to 2^360 (%g).", name, v)
	}
	return nil
}

func checkCooldown(name string, v *int32) error {
	if v != nil && *v < 0 {
		return invalidf("%s cannot be negative (%d).", name, *v)
	}
	return nil
}

// validateTargetTracking checks a target-tracking configuration: a positive
// target; exactly one of a predefined metric that applies to variants and a
// customized metric; a customized metric either simple (MetricName,
// Namespace and Statistic) or metric math (Metrics, with one query
// returning data).
func validateTargetTracking(cfg *TargetTrackingScalingPolicyConfiguration, v Variant) error {
	if err := checkMetricScale("TargetValue", cfg.TargetValue); err != nil {
		return err
	}
	if !(cfg.TargetValue > 0) {
		return invalidf("TargetValue must be a positive number (%g).", cfg.TargetValue)
	}
	if err := checkCooldown("ScaleOutCooldown", cfg.ScaleOutCooldown); err != nil {
		return err
	}
	if err := checkCooldown("ScaleInCooldown", cfg.ScaleInCooldown); err != nil {
		return err
	}
	pre, cust := cfg.PredefinedMetricSpecification, cfg.CustomizedMetricSpecification
	switch {
	case pre == nil && cust == nil:
		return invalidf("Either PredefinedMetricSpecification or CustomizedMetricSpecification must be specified.")
	case pre != nil && cust != nil:
		return invalidf("PredefinedMetricSpecification and CustomizedMetricSpecification cannot both be specified.")
	case pre != nil:
		if _, ok := PredefinedMetric(pre.PredefinedMetricType, v); !ok {
			return invalidf("The predefined metric type %s is not supported for scalable dimension %s; use %s or %s.",
				pre.PredefinedMetricType, Dimension, predefinedInvocations, predefinedConcurrencyHiRes)
		}
		if pre.ResourceLabel != "" {
			return invalidf("ResourceLabel can only be specified with the ALBRequestCountPerTarget predefined metric type.")
		}
		return nil
	}
	if len(cust.Metrics) == 0 {
		if cust.MetricName == "" || cust.Namespace == "" || cust.Statistic == "" {
			return invalidf("A CustomizedMetricSpecification needs MetricName, Namespace and Statistic, or Metrics.")
		}
		return nil
	}
	if cust.MetricName != "" || cust.Namespace != "" || cust.Statistic != "" || len(cust.Dimensions) > 0 || cust.Unit != "" {
		return invalidf("A CustomizedMetricSpecification with Metrics cannot also have MetricName, Namespace, Dimensions, Statistic or Unit.")
	}
	return validateQueries(cust.Metrics)
}

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// validateQueries checks metric-math queries: unique ids that start with a
// lowercase letter, each either an expression or a metric, exactly one
// returning data.
func validateQueries(qs []TargetTrackingMetricDataQuery) error {
	seen := map[string]bool{}
	returning := 0
	for _, q := range qs {
		if !queryID.MatchString(q.Id) {
			return invalidf("The metric data query id %q must start with a lowercase letter and hold only letters, numbers and underscores.", q.Id)
		}
		if seen[q.Id] {
			return invalidf("The metric data query id %q is used more than once.", q.Id)
		}
		seen[q.Id] = true
		if (q.Expression == "") == (q.MetricStat == nil) {
			return invalidf("The metric data query %q must have either an Expression or a MetricStat, not both.", q.Id)
		}
		if q.MetricStat != nil && (q.MetricStat.Metric.MetricName == "" || q.MetricStat.Metric.Namespace == "") {
			return invalidf("The MetricStat of metric data query %q needs a metric name and namespace.", q.Id)
		}
		if q.ReturnData == nil || *q.ReturnData {
			returning++
		}
	}
	if returning != 1 {
		return invalidf("Exactly one metric data query must return data (ReturnData true); %d do.", returning)
	}
	return nil
}

// validateStep checks a step scaling configuration.
func validateStep(cfg *StepScalingPolicyConfiguration) error {
	if cfg.AdjustmentType == "" {
		return invalidf("AdjustmentType is required for a step scaling policy configuration.")
	}
	for _, st := range cfg.StepAdjustments {
		for name, b := range map[string]*float64{"MetricIntervalLowerBound": st.MetricIntervalLowerBound, "MetricIntervalUpperBound": st.MetricIntervalUpperBound} {
			if b != nil {
				if err := checkMetricScale(name, *b); err != nil {
					return err
				}
			}
		}
	}
	if err := ValidateStepAdjustments(cfg.AdjustmentType, cfg.StepAdjustments); err != nil {
		return invalidf("%s", err.Error())
	}
	if m := cfg.MinAdjustmentMagnitude; m != nil {
		if cfg.AdjustmentType != PercentChangeInCapacity {
			return invalidf("MinAdjustmentMagnitude can only be specified with the PercentChangeInCapacity adjustment type.")
		}
		if *m < 1 {
			return invalidf("MinAdjustmentMagnitude must be at least 1 (%d).", *m)
		}
	}
	return checkCooldown("Cooldown", cfg.Cooldown)
}

// The predictive metric types inferscale forecasts for variants. AWS
// forecasts ECS services only; inferscale's variant pair is its own.
const predictivePairInvocations = "SageMakerVariantInvocationsPerInstance"

// validatePredictive checks a predictive configuration: one metric
// specification with a positive target, whose load is either the variant
// pair type or a customized load metric of one metric query; mode
// ForecastOnly.
func validatePredictive(cfg *PredictiveScalingPolicyConfiguration) error {
	if cfg.Mode != "" && cfg.Mode != "ForecastOnly" {
		return invalidf("inferscale runs predictive scaling policies in ForecastOnly mode; %s is not supported.", cfg.Mode)
	}
	if len(cfg.MetricSpecifications) != 1 {
		return invalidf("A predictive scaling policy needs exactly one metric specification (%d given).", len(cfg.MetricSpecifications))
	}
	m := cfg.MetricSpecifications[0]
	if err := checkMetricScale("TargetValue", m.TargetValue); err != nil {
		return err
	}
	if !(m.TargetValue > 0) {
		return invalidf("TargetValue must be a positive number (%g).", m.TargetValue)
	}
	if b := cfg.MaxCapacityBuffer; b != nil && cfg.MaxCapacityBreachBehavior != "IncreaseMaxCapacity" {
		return invalidf("MaxCapacityBuffer can only be specified with the IncreaseMaxCapacity breach behavior.")
	}
	switch {
	case m.PredefinedMetricPairSpecification != nil:
		if pt := m.PredefinedMetricPairSpecification.PredefinedMetricType; pt != predictivePairInvocations {
			return invalidf("The predefined metric pair type %s is not supported for scalable dimension %s; use %s.", pt, Dimension, predictivePairInvocations)
		}
	case m.CustomizedLoadMetricSpecification != nil:
		qs := m.CustomizedLoadMetricSpecification.MetricDataQueries
		if len(qs) != 1 || qs[0].MetricStat == nil || qs[0].Expression != "" {
			return invalidf("inferscale forecasts a customized load metric of exactly one metric query with a MetricStat.")
		}
		ms := qs[0].MetricStat
		if ms.Metric.MetricName == "" || ms.Metric.Namespace == "" {
			return invalidf("The load metric needs a metric name and namespace.")
		}
		if !slices.Contains([]string{"Sum", "Average", "Maximum", "Minimum", "SampleCount"}, ms.Stat) {
			return invalidf("The load metric statistic %s is not supported; use Sum, Average, Maximum, Minimum or SampleCount.", ms.Stat)
		}
	default:
		return invalidf("A predictive metric specification needs a PredefinedMetricPairSpecification or a CustomizedLoadMetricSpecification.")
	}
	return nil
}

// syncAlarms makes CloudWatch hold the alarms p needs: a target-tracking
// policy's high and (unless DisableScaleIn) low alarm, keeping the names of
// the alarms old had. It returns the alarms it created that old did not
// have, and those of old that p no longer needs (stale), which the caller
// deletes once p is stored: a policy never names an alarm that is gone.
func (s *Service) syncAlarms(ctx context.Context, t targetRef, p *ScalingPolicy, old *ScalingPolicy) (created, stale []string, err error) {
	var oldHigh, oldLow string
	if old != nil && old.PolicyType == PolicyTargetTracking {
		for _, a := range old.Alarms {
			if isHighAlarm(a.AlarmName) {
				oldHigh = a.AlarmName
			} else {
				oldLow = a.AlarmName
			}
		}
	}
	if p.PolicyType != PolicyTargetTracking {
		for _, n := range []string{oldHigh, oldLow} {
			if n != "" {
				stale = append(stale, n)
			}
		}
		return nil, stale, nil
	}
	if s.Alarms == nil {
		return nil, nil, errors.New("no CloudWatch alarms configured for target tracking policies")
	}
	cfg := p.TargetTrackingScalingPolicyConfiguration
	m, err := PolicyMetric(cfg, t.variant)
	if err != nil {
		return nil, nil, invalidf("%s", err.Error())
	}
	wantLow := cfg.DisableScaleIn == nil || !*cfg.DisableScaleIn
	high, low := oldHigh, oldLow
	if high == "" {
		high = AlarmName(t.resourceID, true, newUUID())
	}
	if low == "" && wantLow {
		low = AlarmName(t.resourceID, false, newUUID())
	}
	if !wantLow && low != "" {
		stale, low = append(stale, low), ""
	}
	var alarms []Alarm
	for _, a := range []struct {
		name string
		high bool
	}{{high, true}, {low, false}} {
		if a.name == "" {
			continue
		}
		spec := TargetTrackingAlarm(a.name, p.PolicyARN, a.high, cfg.TargetValue, m)
		arn, err := s.Alarms.PutAlarm(ctx, t.account, t.region, spec)
		if err != nil {
			// The alarms it added go: the policy does not change.
			_ = s.deleteAlarms(context.WithoutCancel(ctx), t, created)
			return nil, nil, fmt.Errorf("put alarm %s: %w", a.name, err)
		}
		if a.name != oldHigh && a.name != oldLow {
			created = append(created, a.name)
		}
		alarms = append(alarms, Alarm{AlarmName: a.name, AlarmARN: arn})
	}
	p.Alarms = alarms
	return created, stale, nil
}

// deleteAlarms deletes alarms one by one; alarms that are already gone
// (the user deleted them) are ignored, as AWS ignores them. One at a time,
// because CloudWatch's DeleteAlarms deletes nothing when a name is
// missing, so that a retry after an error finds no more gone than before.
func (s *Service) deleteAlarms(ctx context.Context, t targetRef, names []string) error {
	if s.Alarms == nil {
		return nil
	}
	for _, name := range names {
		err := s.Alarms.DeleteAlarms(ctx, t.account, t.region, name)
		if err != nil && !errors.Is(err, cloudwatch.ErrAlarmNotFound) {
			return fmt.Errorf("delete alarm %s: %w", name, err)
		}
	}
	return nil
}

// deleteManagedAlarms deletes the alarms Application Auto Scaling created
// for a policy: a target-tracking policy's. Step policies' alarms belong to
// the user.
func (s *Service) deleteManagedAlarms(ctx context.Context, t targetRef, p ScalingPolicy) error {
	if p.PolicyType != PolicyTargetTracking {
		return nil
	}
	names := make([]string, 0, len(p.Alarms))
	for _, a := range p.Alarms {
		names = append(names, a.AlarmName)
	}
	return s.deleteAlarms(ctx, t, names)
}

// describeScalingPolicies lists policies by resource ID and name.
func (s *Service) describeScalingPolicies(ctx context.Context, req *api.Request, in *describePoliciesInput) (*describePoliciesOutput, error) {
	parent, selects, err := describeFilter(in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	if !selects {
		return &describePoliciesOutput{ScalingPolicies: []ScalingPolicy{}}, nil
	}
	q := store.Query{Account: req.Account, Region: req.Region, Kind: kindPolicy, Parent: parent, SortBy: store.SortByName}
	rs, err := s.listAll(ctx, q)
	if err != nil {
		return nil, err
	}
	var ps []ScalingPolicy
	for _, r := range rs {
		p, err := decodeDoc[ScalingPolicy](r)
		if err != nil {
			return nil, err
		}
		if len(in.PolicyNames) > 0 && !slices.Contains(in.PolicyNames, p.PolicyName) {
			continue
		}
		ps = append(ps, *p)
	}
	page, next, err := pageOf(kindPolicy, ps, func(p ScalingPolicy) string { return p.ResourceId + "|" + p.PolicyName }, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	page = append([]ScalingPolicy{}, page...)
	if err := s.stepAlarms(ctx, req.Account, req.Region, page); err != nil {
		return nil, err
	}
	return &describePoliciesOutput{ScalingPolicies: page, NextToken: next}, nil
}

// stepAlarms sets the Alarms of the step policies among ps: every alarm
// whose actions call the policy, as AWS lists them (a target-tracking
// policy's are the two it created).
func (s *Service) stepAlarms(ctx context.Context, account, region string, ps []ScalingPolicy) error {
	var arns []string
	for i := range ps {
		if ps[i].PolicyType == PolicyStep {
			ps[i].Alarms = nil
			arns = append(arns, ps[i].PolicyARN)
		}
	}
	if len(arns) == 0 || s.Alarms == nil {
		return nil
	}
	byARN, err := s.Alarms.AlarmsWithActions(ctx, account, region, arns...)
	if err != nil {
		return fmt.Errorf("find the alarms of step scaling policies: %w", err)
	}
	for i := range ps {
		for _, a := range byARN[ps[i].PolicyARN] {
			ps[i].Alarms = append(ps[i].Alarms, Alarm{AlarmName: a.AlarmName, AlarmARN: a.AlarmArn})
		}
	}
	return nil
}

// deleteScalingPolicy deletes a policy and the alarms it created.
func (s *Service) deleteScalingPolicy(ctx context.Context, req *api.Request, in *deletePolicyInput) (*struct{}, error) {
	t, err := resolveTarget(req, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	unlock := s.lock(t)
	defer unlock()
	key := s.childKey(t, kindPolicy, in.PolicyName)
	r, err := s.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, policyNotFound(t, in.PolicyName)
	}
	if err != nil {
		return nil, err
	}
	p, err := decodeDoc[ScalingPolicy](r)
	if err != nil {
		return nil, err
	}
	if err := s.deleteManagedAlarms(ctx, t, *p); err != nil {
		return nil, err
	}
	if err := s.Store.Delete(ctx, key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, policyNotFound(t, in.PolicyName)
		}
		return nil, err
	}
	return nil, nil
}
