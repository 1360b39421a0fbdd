package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/autoscale"
	"github.com/inferscale/inferscale/internal/sagemaker"
)

// variantCapacity is how Application Auto Scaling reads and sets the
// capacity of SageMaker variants: through hosting, as
// UpdateEndpointWeightsAndCapacities does.
type variantCapacity struct {
	sm  *sagemaker.Service
	now func() time.Time
}

func (c variantCapacity) variant(resourceID string) (autoscale.Variant, error) {
	v, ok := autoscale.ParseResourceID(resourceID)
	if !ok {
		return v, fmt.Errorf("resource %s: %w", resourceID, autoscale.ErrResourceNotFound)
	}
	return v, nil
}

// Capacity returns the variant's desired instance count and its instances
// in service.
func (c variantCapacity) Capacity(ctx context.Context, account, region, resourceID string) (desired, actual int, err error) {
	v, err := c.variant(resourceID)
	if err != nil {
		return 0, 0, err
	}
	desired, actual, err = c.sm.VariantCapacity(ctx, account, region, v.Endpoint, v.Variant)
	var ae *api.Error
	if errors.As(err, &ae) && ae.Kind == api.KindNotFound {
		return 0, 0, fmt.Errorf("%w: %w", autoscale.ErrResourceNotFound, err)
	}
	return desired, actual, err
}

// SetCapacity sets the variant's desired instance count.
func (c variantCapacity) SetCapacity(ctx context.Context, account, region, resourceID string, desired int) error {
	v, err := c.variant(resourceID)
	if err != nil {
		return err
	}
	err = c.sm.SetVariantCapacity(ctx, account, region, v.Endpoint, v.Variant, desired, c.now())
	var ae *api.Error
	if errors.As(err, &ae) {
		// SageMaker refused: a failed activity gives its message as the
		// reason, as in AWS.
		return &refusal{err: err, message: ae.Message}
	}
	return err
}

// refusal is an error of SageMaker's API that reads as its message alone.
type refusal struct {
	err     error
	message string
}

func (r *refusal) Error() string { return r.message }
func (r *refusal) Unwrap() error { return r.err }
