package autoscale

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

type tagResourceInput struct {
	ResourceARN string            `json:"ResourceARN"`
	Tags        map[string]string `json:"Tags"`
}

type untagResourceInput struct {
	ResourceARN string   `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

type listTagsInput struct {
	ResourceARN string `json:"ResourceARN"`
}

type listTagsOutput struct {
	Tags map[string]string `json:"Tags"`
}

// tagError maps the store's tag errors to the tag operations' codes.
func tagError(err error, arn string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return resourceNotFound(arn)
	case errors.Is(err, store.ErrLimit):
		return &api.Error{Code: "TooManyTagsException", Status: http.StatusBadRequest, Err: err,
			Message: fmt.Sprintf("A scalable target can have at most %d tags.", maxTags), Fields: map[string]any{"ResourceName": arn}}
	}
	return err
}

func resourceNotFound(arn string) error {
	return &api.Error{Code: "ResourceNotFoundException", Status: http.StatusBadRequest,
		Message: "Scalable target with ARN " + arn + " not found.", Fields: map[string]any{"ResourceName": arn}}
}

// ownTarget fails unless arn is a scalable target ARN of the caller's
// account and region: other accounts' targets do not exist for it.
func ownTarget(req *api.Request, arn string) error {
	prefix := fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/", req.Region, req.Account)
	if !strings.HasPrefix(arn, prefix) {
		return resourceNotFound(arn)
	}
	return nil
}

func (s *Service) tagResource(ctx context.Context, req *api.Request, in *tagResourceInput) (*struct{}, error) {
	if err := ownTarget(req, in.ResourceARN); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	return nil, tagError(s.Store.AddTags(ctx, in.ResourceARN, toStoreTags(in.Tags), maxTags), in.ResourceARN)
}

func (s *Service) untagResource(ctx context.Context, req *api.Request, in *untagResourceInput) (*struct{}, error) {
	if err := ownTarget(req, in.ResourceARN); err != nil {
		return nil, err
	}
	return nil, tagError(s.Store.DeleteTags(ctx, in.ResourceARN, in.TagKeys), in.ResourceARN)
}

func (s *Service) listTagsForResource(ctx context.Context, req *api.Request, in *listTagsInput) (*listTagsOutput, error) {
	if err := ownTarget(req, in.ResourceARN); err != nil {
		return nil, err
	}
	tags, err := s.Store.ListTags(ctx, in.ResourceARN)
	if err != nil {
		return nil, tagError(err, in.ResourceARN)
	}
	out := &listTagsOutput{Tags: make(map[string]string, len(tags))}
	for _, t := range tags {
		out.Tags[t.Key] = t.Value
	}
	return out, nil
}
