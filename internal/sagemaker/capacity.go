package sagemaker

import (
	"context"
	"fmt"
	"time"

	"github.com/inferscale/inferscale/internal/api"
)

// VariantCapacity returns the desired instance count of a production
// variant and the number of its instances in service: what Application
// Auto Scaling reads of a sagemaker:variant:DesiredInstanceCount target.
// It fails with a KindNotFound *api.Error when the endpoint or the variant
// does not exist.
func (s *Service) VariantCapacity(ctx context.Context, account, region, endpoint, variant string) (desired, current int, err error) {
	sc := scope{account, region}
	rec, r, err := get[endpointRecord](ctx, s.Store, kindEndpoint, sc, endpoint)
	if err != nil {
		return 0, 0, fmt.Errorf("read capacity of %s/%s: %w", endpoint, variant, err)
	}
	found := false
	for _, p := range rec.Plan {
		if p.VariantName == variant {
			desired, found = p.InstanceCount, true
		}
	}
	if !found {
		return 0, 0, api.Errorf(api.KindNotFound, "Endpoint %s has no production variant %s.", endpoint, variant)
	}
	if d, ok := s.endpoints().describe(r.Key); ok {
		for _, v := range d.Variants {
			if v.Name == variant {
				return v.DesiredInstanceCount, v.CurrentInstanceCount, nil
			}
		}
	}
	return desired, 0, nil
}

// SetVariantCapacity sets the desired instance count of a production
// variant, as Application Auto Scaling does in SageMaker: through
// UpdateEndpointWeightsAndCapacities, with its checks (the endpoint must be
// InService) and its effect on the stored endpoint, which a restart
// relaunches.
func (s *Service) SetVariantCapacity(ctx context.Context, account, region, endpoint, variant string, desired int, at time.Time) error {
	n := int32(desired)
	req := &api.Request{Operation: "UpdateEndpointWeightsAndCapacities", Account: account, Region: region, Time: at}
	in := &updateWeightsInput{EndpointName: endpoint, DesiredWeightsAndCapacities: []desiredWeightAndCapacity{
		{VariantName: variant, DesiredInstanceCount: &n},
	}}
	if _, err := s.updateWeightsAndCapacities(ctx, req, in); err != nil {
		return fmt.Errorf("set capacity of %s/%s to %d: %w", endpoint, variant, desired, err)
	}
	return nil
}
