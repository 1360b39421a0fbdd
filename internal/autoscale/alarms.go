package autoscale

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/inferscale/inferscale/internal/cloudwatch"
)

// Target-tracking alarms, as AWS creates them: a high alarm above the
// target for 3 of 3 one-minute datapoints and a low alarm below 90% of the
// target for 15 of 15 one-minute datapoints. Their only action is the
// policy. A policy with DisableScaleIn has no low alarm.
//
// High-resolution metrics scale out faster and scale in at the same speed
// as standard ones (AWS's words). AWS does not document their high alarm;
// inferscale's fires on one ten-second datapoint above the target, so that
// a traffic step leads to a decision within 10 to 20 seconds (BENCHMARKS.md)
// where three datapoints would take 30 to 40. A burst that short costs an
// early scale-out at most: scale-in still waits for 15 minutes below 90%.
const (
	highEvaluationPeriods        = 3
	highResHighEvaluationPeriods = 1
	lowEvaluationPeriods         = 15
	standardPeriod               = 60
	highResPeriod                = 10
)

// TrackedMetric is the metric a target-tracking policy tracks: one metric
// with a statistic, or metric math (Queries).
type TrackedMetric struct {
	Namespace  string
	MetricName string
	Dimensions []cloudwatch.Dimension
	Statistic  string
	Unit       string
	// Queries is the metric-math form; the fields above are empty then.
	Queries []TargetTrackingMetricDataQuery
	// HighResolution metrics are published every 10 seconds; the high
	// alarm evaluates them at that period.
	HighResolution bool
}

// PredefinedMetric returns the metric a predefined metric type tracks on a
// variant; ok is false for types that do not apply to variants.
//
//   - SageMakerVariantInvocationsPerInstance: AWS/SageMaker
//     InvocationsPerInstance, Sum, by EndpointName and VariantName.
//   - SageMakerVariantConcurrentRequestsPerModelHighResolution:
//     AWS/SageMaker ConcurrentRequestsPerModel, Average, by EndpointName and
//     VariantName, at 10-second resolution.
func PredefinedMetric(metricType string, v Variant) (m TrackedMetric, ok bool) {
	dims := []cloudwatch.Dimension{{Name: "EndpointName", Value: v.Endpoint}, {Name: "VariantName", Value: v.Variant}}
	switch metricType {
	case predefinedInvocations:
		return TrackedMetric{Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance", Dimensions: dims, Statistic: "Sum"}, true
	case predefinedConcurrencyHiRes:
		return TrackedMetric{Namespace: "AWS/SageMaker", MetricName: "ConcurrentRequestsPerModel", Dimensions: dims,
			Statistic: "Average", HighResolution: true}, true
	}
	return TrackedMetric{}, false
}

// PolicyMetric returns the metric a target-tracking configuration tracks on
// a variant.
func PolicyMetric(cfg *TargetTrackingScalingPolicyConfiguration, v Variant) (TrackedMetric, error) {
	if p := cfg.PredefinedMetricSpecification; p != nil {
		m, ok := PredefinedMetric(p.PredefinedMetricType, v)
		if !ok {
			return m, fmt.Errorf("unsupported predefined metric type %s", p.PredefinedMetricType)
		}
		return m, nil
	}
	c := cfg.CustomizedMetricSpecification
	if c == nil {
		return TrackedMetric{}, fmt.Errorf("no metric")
	}
	if len(c.Metrics) > 0 {
		return TrackedMetric{Queries: c.Metrics}, nil
	}
	m := TrackedMetric{Namespace: c.Namespace, MetricName: c.MetricName, Statistic: c.Statistic, Unit: c.Unit}
	for _, d := range c.Dimensions {
		m.Dimensions = append(m.Dimensions, cloudwatch.Dimension{Name: d.Name, Value: d.Value})
	}
	return m, nil
}

// AlarmName is the name AWS gives a target-tracking alarm:
// TargetTracking-<resource ID>-AlarmHigh-<uuid> (or AlarmLow).
func AlarmName(resourceID string, high bool, id string) string {
	kind := "AlarmLow"
	if high {
		kind = "AlarmHigh"
	}
	return "TargetTracking-" + resourceID + "-" + kind + "-" + id
}

// isHighAlarm reports whether an alarm name is a target-tracking high alarm.
func isHighAlarm(name string) bool { return strings.Contains(name, "-AlarmHigh-") }

// TargetTrackingAlarm returns the spec of a target-tracking policy's high or
// low alarm, named name, whose action is the policy's ARN.
func TargetTrackingAlarm(name, policyARN string, high bool, target float64, m TrackedMetric) cloudwatch.AlarmSpec {
	enabled := true
	spec := cloudwatch.AlarmSpec{
		AlarmName:        name,
		AlarmDescription: "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + policyARN + ".",
		ActionsEnabled:   &enabled,
		AlarmActions:     []string{policyARN},
	}
	period := int32(standardPeriod)
	if high && m.HighResolution {
		period = highResPeriod
	}
	threshold := target
	if high {
		spec.ComparisonOperator = "GreaterThanThreshold"
		n := int32(highEvaluationPeriods)
		if m.HighResolution {
			n = highResHighEvaluationPeriods
		}
		spec.EvaluationPeriods, spec.DatapointsToAlarm = n, n
	} else {
		threshold = ScaleInThreshold * target
		spec.ComparisonOperator = "LessThanThreshold"
		spec.EvaluationPeriods, spec.DatapointsToAlarm = lowEvaluationPeriods, lowEvaluationPeriods
	}
	spec.Threshold = &threshold
	if len(m.Queries) > 0 {
		for _, q := range m.Queries {
			mq := cloudwatch.MetricDataQuery{ID: q.Id, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData}
			if q.MetricStat != nil {
				ms := &cloudwatch.MetricStat{
					Metric: cloudwatch.MetricRef{Namespace: q.MetricStat.Metric.Namespace, MetricName: q.MetricStat.Metric.MetricName},
					Period: period, Stat: q.MetricStat.Stat, Unit: q.MetricStat.Unit,
				}
				for _, d := range q.MetricStat.Metric.Dimensions {
					ms.Metric.Dimensions = append(ms.Metric.Dimensions, cloudwatch.Dimension{Name: d.Name, Value: d.Value})
				}
				mq.MetricStat = ms
			}
			spec.Metrics = append(spec.Metrics, mq)
		}
		return spec
	}
	spec.Namespace, spec.MetricName = m.Namespace, m.MetricName
	spec.Dimensions = append([]cloudwatch.Dimension(nil), m.Dimensions...)
	spec.Statistic, spec.Unit, spec.Period = m.Statistic, m.Unit, period
	return spec
}

// removeLeftoverAlarms deletes the target-tracking alarms of t that no
// stored policy of t names: those a PutScalingPolicy created before the
// server stopped (killed, say) without storing its policy, or whose policy
// went (or stopped needing them) before they could be deleted. Such an
// alarm would go on being evaluated and calling a policy that does not
// have it, or a policy of the same name put again. Only alarms with the
// names AWS gives them (AlarmName) that call a policy of t's resource are
// touched. The caller holds t's lock (Service.lock).
func (s *Service) removeLeftoverAlarms(ctx context.Context, t targetRef) error {
	if s.Alarms == nil {
		return nil
	}
	policies, err := s.policiesOf(ctx, t)
	if err != nil {
		return fmt.Errorf("leftover alarms of %s: %w", t.resourceID, err)
	}
	named := map[string]bool{}
	for _, p := range policies {
		if p.PolicyType != PolicyTargetTracking {
			continue
		}
		for _, a := range p.Alarms {
			named[a.AlarmName] = true
		}
	}
	alarms, err := s.Alarms.AlarmsNamed(ctx, t.account, t.region, "TargetTracking-"+t.resourceID+"-Alarm")
	if err != nil {
		return fmt.Errorf("leftover alarms of %s: %w", t.resourceID, err)
	}
	var leftover []string
	for _, a := range alarms {
		if !named[a.AlarmName] && callsPolicyOf(a.AlarmActions, t.resourceID) {
			leftover = append(leftover, a.AlarmName)
		}
	}
	if len(leftover) == 0 {
		return nil
	}
	s.logger().Warn("deleting target-tracking alarms that no scaling policy names", "resource", t.resourceID,
		"account", t.account, "region", t.region, "alarms", leftover)
	if err := s.deleteAlarms(ctx, t, leftover); err != nil {
		return fmt.Errorf("leftover alarms of %s: %w", t.resourceID, err)
	}
	return nil
}

// callsPolicyOf reports whether actions name a scaling policy of the
// resource resourceID.
func callsPolicyOf(actions []string, resourceID string) bool {
	return slices.ContainsFunc(actions, func(arn string) bool {
		return isPolicyARN(arn) && strings.Contains(arn, ":resource/"+Namespace+"/"+resourceID+":policyName/")
	})
}
