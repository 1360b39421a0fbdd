package sagemaker

import (
	"context"
	"fmt"
	"slices"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

// Instance quota. As SageMaker's account-level service quotas "TYPE for
// endpoint usage", the endpoints of an account and region may hold at
// most HostingOptions.InstanceQuota instances of each instance type:
// CreateEndpoint, UpdateEndpoint (whose new fleet runs beside the old one
// until it is in service) and UpdateEndpointWeightsAndCapacities (and so
// the autoscaler) are refused with ResourceLimitExceeded beyond it. Every
// stored endpoint counts, whatever its status: a Failed variant keeps
// retrying its launches.

// DefaultInstanceQuota is the instances of each instance type the endpoints
// of an account and region may have when HostingOptions.InstanceQuota is 0:
// a bound that keeps a single host from being asked for thousands of
// processes.
const DefaultInstanceQuota = 20

// instanceQuota is the quota in force.
func (s *Service) instanceQuota() int {
	if q := s.Hosting.InstanceQuota; q > 0 {
		return q
	}
	return DefaultInstanceQuota
}

// instanceUsage returns the instances of each type that the endpoints of sc
// hold: the desired counts of their variants and of those of an update in
// progress.
func (s *Service) instanceUsage(ctx context.Context, sc scope) (map[string]int, error) {
	usage := map[string]int{}
	q := store.Query{Account: sc.account, Region: sc.region, Kind: kindEndpoint.name, Limit: 500}
	for {
		rs, next, err := s.Store.List(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("count endpoint instances: %w", err)
		}
		for _, r := range rs {
			rec, err := decode[endpointRecord](r)
			if err != nil {
				return nil, err
			}
			addUsage(usage, rec.Plan, 1)
			if rec.Pending != nil {
				addUsage(usage, rec.Pending.Plan, 1)
			}
		}
		if next == "" {
			return usage, nil
		}
		q.Token = next
	}
}

// addUsage adds sign × each variant's instance count of plan to usage.
func addUsage(usage map[string]int, plan []variantPlan, sign int) {
	for _, p := range plan {
		usage[p.InstanceType] += sign * p.InstanceCount
	}
}

// checkQuota fails with ResourceLimitExceeded if adding delta (instances
// by type) to what the endpoints of sc hold exceeds the quota of a type.
// The caller holds quotaMu until it has stored the change.
func (s *Service) checkQuota(ctx context.Context, sc scope, delta map[string]int) error {
	var types []string
	for t, n := range delta {
		if n > 0 {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil
	}
	slices.Sort(types)
	usage, err := s.instanceUsage(ctx, sc)
	if err != nil {
		return err
	}
	quota := s.instanceQuota()
	for _, t := range types {
		if usage[t]+delta[t] > quota {
			return api.Errorf(api.KindLimitExceeded,
				"The account-level service limit '%s for endpoint usage' is %d Instances, with current utilization of %d Instances and a request delta of %d Instances. "+
					"Please ask the server's operator to raise this quota (inferscale serve --endpoint-instance-quota).",
				t, quota, usage[t], delta[t])
		}
	}
	return nil
}
