package recommend

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/inferscale/inferscale/internal/catalog"
)

// Benchmark plans: one step per instance type and environment combination.

// StepPlan is one benchmark the job will run.
type StepPlan struct {
	Index        int                  // position in the job, from 0
	InstanceType catalog.InstanceType // what to emulate
	Environment  []EnvironmentParameter
}

// Env returns the plan's environment as KEY=VALUE strings.
func (p StepPlan) Env() []string {
	out := make([]string, len(p.Environment))
	for i, e := range p.Environment {
		out[i] = e.Key + "=" + e.Value
	}
	return out
}

// Label is a short human name for the step, e.g.
// "ml.m5.large OMP_NUM_THREADS=2".
func (p StepPlan) Label() string {
	if len(p.Environment) == 0 {
		return p.InstanceType.Name
	}
	return p.InstanceType.Name + " " + strings.Join(p.Env(), " ")
}

// Plan expands a job's endpoint configurations into steps: each instance
// type with each combination of its environment parameter values, in the
// order given, at most MaxNumberOfTests of them.
func Plan(in *JobInput, cat *catalog.Catalog) ([]StepPlan, error) {
	var steps []StepPlan
	var errs []error
	for i, ec := range in.InputConfig.EndpointConfigurations {
		t, err := cat.Lookup(ec.InstanceType)
		if err != nil {
			errs = append(errs, fmt.Errorf("InputConfig.EndpointConfigurations[%d].InstanceType: %w", i, err))
			continue
		}
		var ranges []CategoricalParameter
		if ec.EnvironmentParameterRanges != nil {
			ranges = ec.EnvironmentParameterRanges.CategoricalParameterRanges
		}
		for _, env := range combinations(ranges) {
			steps = append(steps, StepPlan{Index: len(steps), InstanceType: t, Environment: env})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, errors.New("InputConfig.EndpointConfigurations: no instance type to benchmark")
	}
	if rl := in.InputConfig.ResourceLimit; rl != nil && rl.MaxNumberOfTests > 0 && len(steps) > rl.MaxNumberOfTests {
		steps = steps[:rl.MaxNumberOfTests]
	}
	return steps, nil
}

// combinations returns the cartesian product of the parameters' values, the
// first parameter varying slowest. No parameters give one empty combination.
func combinations(params []CategoricalParameter) [][]EnvironmentParameter {
	out := [][]EnvironmentParameter{nil}
	for _, p := range params {
		var next [][]EnvironmentParameter
		for _, prefix := range out {
			for _, v := range p.Value {
				c := append(append([]EnvironmentParameter(nil), prefix...), EnvironmentParameter{Key: p.Name, ValueType: "String", Value: v})
				next = append(next, c)
			}
		}
		out = next
	}
	return out
}

// DefaultInstanceTypes picks n instance types for a job that names none:
// priced types whose vCPUs fit in hostCPUs, cheapest first; when fewer than
// n fit, the cheapest priced types that need more CPUs than the host has
// fill the list (they run on shared CPUs, with a warning in their results).
func DefaultInstanceTypes(cat *catalog.Catalog, region string, hostCPUs, n int) []string {
	type priced struct {
		t     catalog.InstanceType
		price float64
	}
	var fit, big []priced
	for _, t := range cat.Types() {
		p, ok := t.Price(region)
		if !ok || t.GPUs > 0 || t.Accelerator != "" {
			continue
		}
		if t.VCPUs <= hostCPUs {
			fit = append(fit, priced{t, p})
		} else {
			big = append(big, priced{t, p})
		}
	}
	byPrice := func(s []priced) {
		sort.SliceStable(s, func(i, j int) bool {
			if s[i].price != s[j].price {
				return s[i].price < s[j].price
			}
			return s[i].t.Name < s[j].t.Name
		})
	}
	byPrice(fit)
	byPrice(big)
	var names []string
	for _, p := range append(fit, big...) {
		if len(names) == n {
			break
		}
		names = append(names, p.t.Name)
	}
	return names
}
