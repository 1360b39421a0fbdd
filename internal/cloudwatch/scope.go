package cloudwatch

import (
	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/metrics"
)

// MetricsScope is the metrics.Scope of an account and region: CloudWatch
// keeps each one's metrics apart. The default account in the default
// region is the zero Scope, the store's own, where metrics written before
// scopes existed are.
func MetricsScope(account, region string) metrics.Scope {
	if account == api.DefaultAccount && region == api.DefaultRegion {
		return metrics.Scope{}
	}
	return metrics.Scope{Account: account, Region: region}
}

// metricsOf returns the metrics of the request's account and region.
func (s *Service) metricsOf(req *api.Request) *metrics.View {
	return s.Metrics.In(MetricsScope(req.Account, req.Region))
}
