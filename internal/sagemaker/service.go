package sagemaker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/api/model"
	"github.com/inferscale/inferscale/internal/store"
)

// Service implements SageMaker operations on a store.
type Service struct {
	Store *store.Store
	// Logger receives what handlers log; nil discards.
	Logger *slog.Logger
	// Jobs configures how recommendation jobs run (RunJobs).
	Jobs JobOptions

	// Hosting configures how endpoints run (RunEndpoints).
	Hosting HostingOptions

	jobs    jobManager
	hosting endpointManager
}

// Codes are SageMaker's error codes for the error kinds; kinds not listed
// use api.DefaultCodes (ValidationException, ConflictException, ...).
var Codes = api.Codes{
	api.KindNotFound:      {Name: "ResourceNotFound", Status: http.StatusBadRequest},
	api.KindInUse:         {Name: "ResourceInUse", Status: http.StatusBadRequest},
	api.KindLimitExceeded: {Name: "ResourceLimitExceeded", Status: http.StatusBadRequest},
}

// NewAPI returns the SageMaker api.Service with s's operations registered,
// on the SageMaker model with the URL patterns this host accepts
// (urlPatterns).
func (s *Service) NewAPI() *api.Service {
	svc := api.NewService(s.apiModel())
	s.Register(svc)
	return svc
}

// instanceTypeShape is the model's enum of instance types, for endpoint
// variants and recommendation jobs alike.
const instanceTypeShape = "ProductionVariantInstanceType"

// apiModel is apiModel(), or, when s's catalog has instance types that the
// model's enum lacks (serve --catalog), a copy whose enum has them too:
// those types are checked against the catalog, as all are.
func (s *Service) apiModel() *model.Service {
	m := apiModel()
	cat, err := s.Jobs.catalog()
	if err != nil {
		return m // the operations that need the catalog report it
	}
	known := m.Shapes[instanceTypeShape].Enum
	var extra []string
	for _, t := range cat.Types() {
		if !slices.Contains(known, t.Name) {
			extra = append(extra, t.Name)
		}
	}
	if len(extra) == 0 {
		return m
	}
	own, err := model.LoadWithPatterns("sagemaker", urlPatterns)
	if err == nil {
		err = own.WidenEnum(instanceTypeShape, extra...)
	}
	if err != nil {
		panic(err) // the embedded model and the patterns are fixed: a bug
	}
	return own
}

// urlPatterns widen the model's S3 URL shapes (ModelDataUrl,
// SamplePayloadUrl, ...), which take s3:// and https:// only, to the URLs
// inferscale reads on its host: file:// and http:// too (container.go).
var urlPatterns = map[string]string{
	"S3Uri": `(https?|s3)://([^/]+)/?(.*)|file://(.*)`,
	"Url":   `(https?|s3)://([^/]+)/?(.*)|file://(.*)`,
	// Data capture's destination: a directory on this host (capture.go).
	"DestinationS3Uri": `(https|s3)://([^/])/?(.*)|file://(.*)`,
}

var (
	apiModelOnce sync.Once
	apiModelSvc  *model.Service
)

// apiModel is the SageMaker model with urlPatterns, parsed once.
func apiModel() *model.Service {
	apiModelOnce.Do(func() {
		m, err := model.LoadWithPatterns("sagemaker", urlPatterns)
		if err != nil {
			panic(err) // the embedded model and the patterns are fixed: a bug
		}
		apiModelSvc = m
	})
	return apiModelSvc
}

// Register sets the service's error mapping and registers the operations
// this package implements.
func (s *Service) Register(svc *api.Service) {
	svc.Codes = Codes
	svc.MapError = mapError
	svc.Handle(s.resourceOps()...)
	svc.Handle(s.tagOps()...)
	svc.Handle(s.jobOps()...)
	svc.Handle(s.endpointOps()...)
}

// resourceOps are the operations on models, model packages and groups.
func (s *Service) resourceOps() []*api.Operation {
	return []*api.Operation{
		api.Op("CreateModel", s.createModel),
		api.Op("DescribeModel", s.describeModel),
		api.Op("ListModels", s.listModels),
		api.Op("DeleteModel", s.deleteModel),

		api.Op("CreateModelPackageGroup", s.createGroup),
		api.Op("DescribeModelPackageGroup", s.describeGroup),
		api.Op("ListModelPackageGroups", s.listGroups),
		api.Op("DeleteModelPackageGroup", s.deleteGroup),

		api.Op("CreateModelPackage", s.createPackage),
		api.Op("DescribeModelPackage", s.describePackage),
		api.Op("ListModelPackages", s.listPackages),
		api.Op("UpdateModelPackage", s.updatePackage),
		api.Op("DeleteModelPackage", s.deletePackage),
	}
}

// mapError turns store errors that handlers did not map to a kind's own
// error into API errors.
func mapError(err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae // already decided by the handler
	}
	switch {
	case errors.Is(err, store.ErrInvalidToken):
		return &api.Error{Kind: api.KindInvalid, Message: "The NextToken is not valid.", Err: err}
	case errors.Is(err, store.ErrNotFound):
		return &api.Error{Kind: api.KindNotFound, Message: "Resource does not exist.", Err: err}
	case errors.Is(err, store.ErrExists):
		return &api.Error{Kind: api.KindInUse, Message: "Resource already exists.", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &api.Error{Kind: api.KindConflict, Message: "The resource was changed by another request; retry.", Err: err}
	}
	return nil
}

// LookupModel returns the model called name (any case) in an account and
// region.
func (s *Service) LookupModel(ctx context.Context, account, region, name string) (*Model, error) {
	m, _, err := get[Model](ctx, s.Store, kindModel, scope{account, region}, name)
	return m, err
}

// LookupModelPackage returns a model package by name (unversioned),
// GROUP/VERSION, or ARN, in an account and region.
func (s *Service) LookupModelPackage(ctx context.Context, account, region, nameOrARN string) (*ModelPackage, error) {
	p, _, err := s.getPackage(ctx, scope{account, region}, nameOrARN)
	return p, err
}
