package cloudwatch

import (
	"context"
	"errors"
	"strings"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

type tagResourceInput struct {
	ResourceARN string `json:"ResourceARN"`
	Tags        []tag  `json:"Tags"`
}

type untagResourceInput struct {
	ResourceARN string   `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

type listTagsInput struct {
	ResourceARN string `json:"ResourceARN"`
}

type listTagsOutput struct {
	Tags []tag `json:"Tags"`
}

func (s *Service) tagOps() []*api.Operation {
	return []*api.Operation{
		api.Op("TagResource", s.tagResource),
		api.Op("UntagResource", s.untagResource),
		api.Op("ListTagsForResource", s.listTagsForResource),
	}
}

// checkTagARN accepts the ARN of an alarm in the caller's account and
// region. Other CloudWatch resources (dashboards, metric streams, insight
// rules) do not exist in inferscale.
func checkTagARN(req *api.Request, arn string) error {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "cloudwatch" {
		return invalidValue("The value %s for parameter ResourceARN is not a valid CloudWatch ARN.", arn)
	}
	if len(parts) != 7 || parts[5] != "alarm" || parts[6] == "" || parts[3] != req.Region || parts[4] != req.Account {
		return tagNotFound(arn)
	}
	return nil
}

func tagNotFound(arn string) *api.Error {
	return &api.Error{Kind: api.KindNotFound, Code: codeTagsNotFound,
		Message: "The resource " + arn + " does not exist.",
		Fields:  map[string]any{"ResourceType": "alarm", "ResourceId": arn}}
}

// tagError maps store errors of the tag operations.
func tagError(arn string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tagNotFound(arn)
	case errors.Is(err, store.ErrLimit):
		return invalidValue("An alarm can have at most %d tags.", maxAlarmTags)
	}
	return err
}

// checkTagKeys refuses tag keys with the prefix AWS reserves, as
// CloudWatch does (InvalidParameterValue).
func checkTagKeys(tags []tag) error {
	for i, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidValue("The value %s for parameter Tags.member.%d.Key is invalid: tag keys starting with aws: are reserved for use by AWS.", t.Key, i+1)
		}
	}
	return nil
}

func (s *Service) tagResource(ctx context.Context, req *api.Request, in *tagResourceInput) (*struct{}, error) {
	if err := checkTagARN(req, in.ResourceARN); err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	tags := make([]store.Tag, len(in.Tags))
	for i, t := range in.Tags {
		tags[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return nil, tagError(in.ResourceARN, s.Store.AddTags(ctx, in.ResourceARN, tags, maxAlarmTags))
}

func (s *Service) untagResource(ctx context.Context, req *api.Request, in *untagResourceInput) (*struct{}, error) {
	if err := checkTagARN(req, in.ResourceARN); err != nil {
		return nil, err
	}
	return nil, tagError(in.ResourceARN, s.Store.DeleteTags(ctx, in.ResourceARN, in.TagKeys))
}

func (s *Service) listTagsForResource(ctx context.Context, req *api.Request, in *listTagsInput) (*listTagsOutput, error) {
	if err := checkTagARN(req, in.ResourceARN); err != nil {
		return nil, err
	}
	tags, err := s.Store.ListTags(ctx, in.ResourceARN)
	if err != nil {
		return nil, tagError(in.ResourceARN, err)
	}
	out := &listTagsOutput{Tags: make([]tag, len(tags))}
	for i, t := range tags {
		out.Tags[i] = tag{Key: t.Key, Value: t.Value}
	}
	return out, nil
}
