package sagemaker

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/store"
)

// maxTags is how many tags a resource can have (TagList's limit).
const maxTags = 50

type addTagsInput struct {
	ResourceArn string `json:"ResourceArn"`
	Tags        []Tag  `json:"Tags"`
}

type addTagsOutput struct {
	Tags []Tag `json:"Tags"`
}

type listTagsOutput struct {
	Tags      []Tag  `json:"Tags"`
	NextToken string `json:"NextToken,omitempty"`
}

type listTagsInput struct {
	ResourceArn string `json:"ResourceArn"`
	NextToken   string `json:"NextToken,omitempty"`
	MaxResults  int32  `json:"MaxResults,omitempty"`
}

type deleteTagsInput struct {
	ResourceArn string   `json:"ResourceArn"`
	TagKeys     []string `json:"TagKeys"`
}

func (s *Service) tagOps() []*api.Operation {
	return []*api.Operation{
		api.Op("AddTags", s.addTags),
		api.Op("ListTags", s.listTags),
		api.Op("DeleteTags", s.deleteTags),
	}
}

// tagError maps store errors of the tag operations. SageMaker answers a
// ValidationException for an ARN that names no resource.
func tagError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &api.Error{Kind: api.KindInvalid, Message: "Resource does not exist", Err: err}
	case errors.Is(err, store.ErrLimit):
		return &api.Error{Kind: api.KindLimitExceeded, Err: err,
			Message: "A resource can have at most 50 tags."}
	}
	return err
}

// ownARN fails unless arn is in the caller's account and region: other
// accounts' resources do not exist for it.
func ownARN(req *api.Request, arn string) error {
	a, ok := parseARN(arn)
	if !ok || a.account != req.Account || a.region != req.Region {
		return tagError(store.ErrNotFound)
	}
	return nil
}

// checkTagKeys refuses keys with the prefix AWS reserves (aws:, in any
// case).
func checkTagKeys(tags []Tag) error {
	for _, t := range tags {
		if err := checkTagKey(t.Key); err != nil {
			return err
		}
	}
	return nil
}

func checkTagKey(key string) error {
	if len(key) >= 4 && strings.EqualFold(key[:4], "aws:") {
		return api.Errorf(api.KindInvalid, "Tag key %q: keys starting with 'aws:' are reserved for AWS use.", key)
	}
	return nil
}

func (s *Service) addTags(ctx context.Context, req *api.Request, in *addTagsInput) (*addTagsOutput, error) {
	if err := ownARN(req, in.ResourceArn); err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	if err := s.Store.AddTags(ctx, in.ResourceArn, toStoreTags(in.Tags), maxTags); err != nil {
		return nil, tagError(err)
	}
	return &addTagsOutput{Tags: in.Tags}, nil
}

func (s *Service) listTags(ctx context.Context, req *api.Request, in *listTagsInput) (*listTagsOutput, error) {
	if err := ownARN(req, in.ResourceArn); err != nil {
		return nil, err
	}
	tags, err := s.Store.ListTags(ctx, in.ResourceArn)
	if err != nil {
		return nil, tagError(err)
	}
	// Tags come sorted by key; the token is the last key of the page.
	start := 0
	if in.NextToken != "" {
		start = sort.Search(len(tags), func(i int) bool { return tags[i].Key > in.NextToken })
	}
	limit := int(in.MaxResults)
	if limit == 0 {
		limit = maxTags
	}
	out := &listTagsOutput{Tags: []Tag{}}
	for _, t := range tags[start:] {
		if len(out.Tags) == limit {
			out.NextToken = out.Tags[limit-1].Key
			break
		}
		out.Tags = append(out.Tags, Tag{Key: t.Key, Value: t.Value})
	}
	return out, nil
}

func (s *Service) deleteTags(ctx context.Context, req *api.Request, in *deleteTagsInput) (*struct{}, error) {
	if err := ownARN(req, in.ResourceArn); err != nil {
		return nil, err
	}
	return nil, tagError(s.Store.DeleteTags(ctx, in.ResourceArn, in.TagKeys))
}
