package sagemaker

import (
	"context"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/store"
)

type createModelInput struct {
	ModelName string `json:"ModelName"`
	ModelSpec
	Tags []Tag `json:"Tags,omitempty"`
}

type createModelOutput struct {
	ModelArn string `json:"ModelArn"`
}

// modelRef is the input of DescribeModel and DeleteModel.
type modelRef struct {
	ModelName string `json:"ModelName"`
}

type listModelsInput struct {
	listParams
}

type modelSummary struct {
	ModelName    string            `json:"ModelName"`
	ModelArn     string            `json:"ModelArn"`
	CreationTime awstime.Timestamp `json:"CreationTime"`
}

type listModelsOutput struct {
	Models    []modelSummary `json:"Models"`
	NextToken string         `json:"NextToken,omitempty"`
}

func (s *Service) createModel(ctx context.Context, req *api.Request, in *createModelInput) (*createModelOutput, error) {
	sc := scopeOf(req)
	if err := s.checkContainers(ctx, sc, &in.ModelSpec); err != nil {
		return nil, err
	}
	// SageMaker reports the default container mode.
	for _, c := range in.containers() {
		if c.Mode == "" {
			c.Mode = modeSingleModel
		}
	}
	m := Model{
		ModelName:    in.ModelName,
		ModelSpec:    in.ModelSpec,
		CreationTime: awstime.Timestamp{Time: now(req)},
		ModelArn:     kindModel.arn(sc, in.ModelName),
	}
	if err := create(ctx, s.Store, kindModel, sc, m.ModelName, m.ModelArn, m.CreationTime.Time, &m, in.Tags); err != nil {
		return nil, err
	}
	return &createModelOutput{ModelArn: m.ModelArn}, nil
}

// containers returns pointers to the model's containers.
func (m *ModelSpec) containers() []*ContainerDefinition {
	var cs []*ContainerDefinition
	if m.PrimaryContainer != nil {
		cs = append(cs, m.PrimaryContainer)
	}
	for i := range m.Containers {
		cs = append(cs, &m.Containers[i])
	}
	return cs
}

// checkContainers enforces what the model's shapes cannot say: a model has
// either a primary container or a list of containers, and each container
// names an image or a model package that exists.
func (s *Service) checkContainers(ctx context.Context, sc scope, m *ModelSpec) error {
	switch {
	case m.PrimaryContainer == nil && len(m.Containers) == 0:
		return api.Errorf(api.KindInvalid, "Either PrimaryContainer or Containers must be specified.")
	case m.PrimaryContainer != nil && len(m.Containers) > 0:
		return api.Errorf(api.KindInvalid, "PrimaryContainer and Containers cannot both be specified.")
	}
	for _, c := range m.containers() {
		if c.ModelPackageName != "" {
			if _, _, err := s.getPackage(ctx, sc, c.ModelPackageName); err != nil {
				return err
			}
			continue
		}
		if c.Image == "" {
			return api.Errorf(api.KindInvalid, "A container must specify either Image or ModelPackageName.")
		}
	}
	return nil
}

func (s *Service) describeModel(ctx context.Context, req *api.Request, in *modelRef) (*Model, error) {
	m, _, err := get[Model](ctx, s.Store, kindModel, scopeOf(req), in.ModelName)
	return m, err
}

func (s *Service) deleteModel(ctx context.Context, req *api.Request, in *modelRef) (*struct{}, error) {
	return nil, remove(ctx, s.Store, kindModel, scopeOf(req), in.ModelName)
}

func (s *Service) listModels(ctx context.Context, req *api.Request, in *listModelsInput) (*listModelsOutput, error) {
	q, err := in.query(kindModel, scopeOf(req), listOrder{sortBy: "CreationTime", descending: true})
	if err != nil {
		return nil, err
	}
	rs, next, err := s.Store.List(ctx, q)
	if err != nil {
		return nil, err
	}
	ms := make([]modelSummary, len(rs))
	for i, r := range rs {
		if ms[i], err = summarizeModel(r); err != nil {
			return nil, err
		}
	}
	return &listModelsOutput{Models: ms, NextToken: next}, nil
}

// summarizeModel is the ListModels summary of a stored model: the
// summary's members have the stored Model's names, so decoding into it
// skips the containers instead of building them.
func summarizeModel(r store.Resource) (modelSummary, error) {
	m, err := decode[modelSummary](r)
	if err != nil {
		return modelSummary{}, err
	}
	return *m, nil
}
