package recommend

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ValidationError is a request that cannot be run as given. Field names the
// member in the request's own spelling, e.g.
// "StoppingConditions.ModelLatencyThresholds[0].Percentile".
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var jobNamePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}$`)

// Validate checks what the measurement core needs of a job, beyond the
// shapes that the API layer checks against the service model. It returns
// every problem found, joined.
func (in *JobInput) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !jobNamePattern.MatchString(in.JobName) {
		add(invalid("JobName", "%q must be 1 to 64 letters, digits and hyphens, starting and ending with a letter or digit", in.JobName))
	}
	switch in.JobType {
	case JobTypeDefault, JobTypeAdvanced:
	default:
		add(invalid("JobType", "%q must be one of [Default, Advanced]", in.JobType))
	}
	ic := &in.InputConfig
	if ic.JobDurationInSeconds < 0 {
		add(invalid("InputConfig.JobDurationInSeconds", "must be at least 1, got %d", ic.JobDurationInSeconds))
	}
	for i, ec := range ic.EndpointConfigurations {
		f := fmt.Sprintf("InputConfig.EndpointConfigurations[%d]", i)
		if ec.InstanceType == "" && ec.ServerlessConfig == nil {
			add(invalid(f+".InstanceType", "is required"))
		}
		if ec.ServerlessConfig != nil {
			add(invalid(f+".ServerlessConfig", "serverless endpoints are not supported; name an InstanceType"))
		}
		if r := ec.EnvironmentParameterRanges; r != nil {
			// A variable in two ranges would get two values in one
			// combination; a value listed twice, the same benchmark twice.
			first := map[string]int{}
			for j, p := range r.CategoricalParameterRanges {
				pf := fmt.Sprintf("%s.EnvironmentParameterRanges.CategoricalParameterRanges[%d]", f, j)
				if p.Name == "" || strings.ContainsAny(p.Name, "=\x00") {
					add(invalid(pf+".Name", "%q must be a non-empty environment variable name without '='", p.Name))
				} else if k, ok := first[p.Name]; ok {
					add(invalid(pf+".Name", "%q is also CategoricalParameterRanges[%d]: list all its values in one range", p.Name, k))
				} else {
					first[p.Name] = j
				}
				if len(p.Value) == 0 {
					add(invalid(pf+".Value", "must list at least one value"))
				}
				for k, v := range p.Value {
					if slices.Contains(p.Value[:k], v) {
						add(invalid(pf+".Value", "lists %q twice", v))
						break
					}
				}
			}
		}
	}
	if rl := ic.ResourceLimit; rl != nil {
		if rl.MaxNumberOfTests < 0 {
			add(invalid("InputConfig.ResourceLimit.MaxNumberOfTests", "must be at least 1, got %d", rl.MaxNumberOfTests))
		}
		if rl.MaxParallelOfTests < 0 {
			add(invalid("InputConfig.ResourceLimit.MaxParallelOfTests", "must be at least 1, got %d", rl.MaxParallelOfTests))
		}
	}
	if in.JobType == JobTypeAdvanced {
		add(validateTraffic(ic.TrafficPattern))
	} else if ic.TrafficPattern != nil {
		add(invalid("InputConfig.TrafficPattern", "applies to Advanced jobs only; a Default job finds the load itself"))
	}
	if sc := in.StoppingConditions; sc != nil {
		if sc.MaxInvocations < 0 {
			add(invalid("StoppingConditions.MaxInvocations", "must be positive, got %d", sc.MaxInvocations))
		}
		for i, th := range sc.ModelLatencyThresholds {
			f := fmt.Sprintf("StoppingConditions.ModelLatencyThresholds[%d]", i)
			if _, err := percentileOf(th.Percentile); err != nil {
				add(invalid(f+".Percentile", "%v", err))
			}
			if th.ValueInMilliseconds <= 0 {
				add(invalid(f+".ValueInMilliseconds", "must be a positive number of milliseconds, got %d", th.ValueInMilliseconds))
			}
		}
		if len(sc.ModelLatencyThresholds) > 1 {
			add(invalid("StoppingConditions.ModelLatencyThresholds", "takes at most 1 threshold, got %d", len(sc.ModelLatencyThresholds)))
		}
		switch sc.FlatInvocations {
		case "", FlatInvocationsStop, FlatInvocationsContinue:
		default:
			add(invalid("StoppingConditions.FlatInvocations", "%q must be one of [Continue, Stop]", sc.FlatInvocations))
		}
	}
	return errors.Join(errs...)
}

func validateTraffic(tp *TrafficPattern) error {
	if tp == nil {
		return invalid("InputConfig.TrafficPattern", "is required for an Advanced job")
	}
	var errs []error
	switch tp.TrafficType {
	case TrafficPhases, "":
		if len(tp.Phases) == 0 {
			errs = append(errs, invalid("InputConfig.TrafficPattern.Phases", "must list at least one phase for TrafficType PHASES"))
		}
		for i, p := range tp.Phases {
			f := fmt.Sprintf("InputConfig.TrafficPattern.Phases[%d]", i)
			if p.InitialNumberOfUsers < 1 {
				errs = append(errs, invalid(f+".InitialNumberOfUsers", "must be at least 1, got %d", p.InitialNumberOfUsers))
			}
			if p.SpawnRate < 0 {
				errs = append(errs, invalid(f+".SpawnRate", "must not be negative, got %d", p.SpawnRate))
			}
			if p.DurationInSeconds < 1 {
				errs = append(errs, invalid(f+".DurationInSeconds", "must be at least 1, got %d", p.DurationInSeconds))
			}
		}
	case TrafficStairs:
		s := tp.Stairs
		if s == nil {
			return invalid("InputConfig.TrafficPattern.Stairs", "is required for TrafficType STAIRS")
		}
		if s.DurationInSeconds < 1 {
			errs = append(errs, invalid("InputConfig.TrafficPattern.Stairs.DurationInSeconds", "must be at least 1, got %d", s.DurationInSeconds))
		}
		if s.NumberOfSteps < 1 {
			errs = append(errs, invalid("InputConfig.TrafficPattern.Stairs.NumberOfSteps", "must be at least 1, got %d", s.NumberOfSteps))
		}
		if s.UsersPerStep < 1 || s.UsersPerStep > 3 {
			errs = append(errs, invalid("InputConfig.TrafficPattern.Stairs.UsersPerStep", "must be between 1 and 3, got %d", s.UsersPerStep))
		}
	default:
		errs = append(errs, invalid("InputConfig.TrafficPattern.TrafficType", "%q must be one of [PHASES, STAIRS]", tp.TrafficType))
	}
	return errors.Join(errs...)
}

// percentileOf turns "P95" or "P99" into a quantile.
func percentileOf(s string) (float64, error) {
	switch strings.ToUpper(s) {
	case "P50":
		return 0.50, nil
	case "P90":
		return 0.90, nil
	case "P95":
		return 0.95, nil
	case "P99":
		return 0.99, nil
	}
	return 0, fmt.Errorf("%q must be one of [P50, P90, P95, P99]", s)
}
