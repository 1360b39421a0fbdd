package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/awstime"
	"github.com/inferscale/inferscale/internal/store"
)

// Model package groups, and model packages: unversioned ones, named by
// ModelPackageName (ARN .../model-package/NAME), and versions in a group,
// numbered 1, 2, ... (ARN .../model-package/GROUP/VERSION, store name
// GROUP/VERSION, parent GROUP). Names keep their case in these ARNs.

type createGroupInput struct {
	ModelPackageGroupName        string `json:"ModelPackageGroupName"`
	ModelPackageGroupDescription string `json:"ModelPackageGroupDescription,omitempty"`
	Tags                         []Tag  `json:"Tags,omitempty"`
	ManagedConfiguration         Opaque `json:"ManagedConfiguration,omitempty"`
}

type createGroupOutput struct {
	ModelPackageGroupArn string `json:"ModelPackageGroupArn"`
}

// groupRef is the input of DescribeModelPackageGroup and
// DeleteModelPackageGroup: a name or an ARN.
type groupRef struct {
	ModelPackageGroupName string `json:"ModelPackageGroupName"`
}

type listGroupsInput struct {
	listParams
	CrossAccountFilterOption string `json:"CrossAccountFilterOption,omitempty"`
}

type groupSummary struct {
	ModelPackageGroupName        string            `json:"ModelPackageGroupName"`
	ModelPackageGroupArn         string            `json:"ModelPackageGroupArn"`
	ModelPackageGroupDescription string            `json:"ModelPackageGroupDescription,omitempty"`
	CreationTime                 awstime.Timestamp `json:"CreationTime"`
	ModelPackageGroupStatus      string            `json:"ModelPackageGroupStatus"`
	ManagedConfiguration         Opaque            `json:"ManagedConfiguration,omitempty"`
}

type listGroupsOutput struct {
	ModelPackageGroupSummaryList []groupSummary `json:"ModelPackageGroupSummaryList"`
	NextToken                    string         `json:"NextToken,omitempty"`
}

func (s *Service) createGroup(ctx context.Context, req *api.Request, in *createGroupInput) (*createGroupOutput, error) {
	sc := scopeOf(req)
	g := ModelPackageGroup{
		ModelPackageGroupName:        in.ModelPackageGroupName,
		ModelPackageGroupArn:         kindGroup.arn(sc, in.ModelPackageGroupName),
		ModelPackageGroupDescription: in.ModelPackageGroupDescription,
		CreationTime:                 awstime.Timestamp{Time: now(req)},
		ModelPackageGroupStatus:      "Completed",
		ManagedConfiguration:         in.ManagedConfiguration,
	}
	if err := create(ctx, s.Store, kindGroup, sc, g.ModelPackageGroupName, g.ModelPackageGroupArn, g.CreationTime.Time, &g, in.Tags); err != nil {
		return nil, err
	}
	return &createGroupOutput{ModelPackageGroupArn: g.ModelPackageGroupArn}, nil
}

func (s *Service) describeGroup(ctx context.Context, req *api.Request, in *groupRef) (*ModelPackageGroup, error) {
	sc := scopeOf(req)
	name, err := kindGroup.resolve(sc, in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	g, _, err := get[ModelPackageGroup](ctx, s.Store, kindGroup, sc, name)
	return g, err
}

func (s *Service) deleteGroup(ctx context.Context, req *api.Request, in *groupRef) (*struct{}, error) {
	sc := scopeOf(req)
	name, err := kindGroup.resolve(sc, in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	err = remove(ctx, s.Store, kindGroup, sc, name, kindPackage.name)
	if errors.Is(err, store.ErrHasChildren) {
		return nil, &api.Error{Kind: api.KindConflict, Err: err,
			Message: fmt.Sprintf("Model Package Group %s cannot be deleted because it contains model packages.", kindGroup.arn(sc, name))}
	}
	return nil, err
}

func (s *Service) listGroups(ctx context.Context, req *api.Request, in *listGroupsInput) (*listGroupsOutput, error) {
	out := &listGroupsOutput{ModelPackageGroupSummaryList: []groupSummary{}}
	if in.CrossAccountFilterOption == "CrossAccount" {
		return out, nil // inferscale shares nothing across accounts
	}
	q, err := in.query(kindGroup, scopeOf(req), listOrder{sortBy: "CreationTime"})
	if err != nil {
		return nil, err
	}
	out.ModelPackageGroupSummaryList, out.NextToken, err = list(ctx, s.Store, q, func(g *ModelPackageGroup) groupSummary {
		return groupSummary{
			ModelPackageGroupName: g.ModelPackageGroupName, ModelPackageGroupArn: g.ModelPackageGroupArn,
			ModelPackageGroupDescription: g.ModelPackageGroupDescription, CreationTime: g.CreationTime,
			ModelPackageGroupStatus: g.ModelPackageGroupStatus, ManagedConfiguration: g.ManagedConfiguration,
		}
	})
	return out, err
}

type createPackageInput struct {
	ModelPackageName      string `json:"ModelPackageName,omitempty"`
	ModelPackageGroupName string `json:"ModelPackageGroupName,omitempty"`
	ModelPackageSpec
	Tags        []Tag  `json:"Tags,omitempty"`
	ClientToken string `json:"ClientToken,omitempty"`
}

// packageARNOutput is the output of CreateModelPackage and
// UpdateModelPackage.
type packageARNOutput struct {
	ModelPackageArn string `json:"ModelPackageArn"`
}

// packageRef is the input of DescribeModelPackage and DeleteModelPackage:
// NAME, GROUP/VERSION, or an ARN.
type packageRef struct {
	ModelPackageName string `json:"ModelPackageName"`
}

type listPackagesInput struct {
	listParams
	ModelApprovalStatus   string `json:"ModelApprovalStatus,omitempty"`
	ModelPackageGroupName string `json:"ModelPackageGroupName,omitempty"`
	ModelPackageType      string `json:"ModelPackageType,omitempty"`
}

type packageSummary struct {
	ModelPackageName             string            `json:"ModelPackageName,omitempty"`
	ModelPackageGroupName        string            `json:"ModelPackageGroupName,omitempty"`
	ModelPackageVersion          int32             `json:"ModelPackageVersion,omitempty"`
	ModelPackageArn              string            `json:"ModelPackageArn"`
	ModelPackageDescription      string            `json:"ModelPackageDescription,omitempty"`
	CreationTime                 awstime.Timestamp `json:"CreationTime"`
	ModelPackageStatus           string            `json:"ModelPackageStatus"`
	ModelApprovalStatus          string            `json:"ModelApprovalStatus,omitempty"`
	ModelLifeCycle               Opaque            `json:"ModelLifeCycle,omitempty"`
	ModelPackageRegistrationType string            `json:"ModelPackageRegistrationType,omitempty"`
}

type listPackagesOutput struct {
	ModelPackageSummaryList []packageSummary `json:"ModelPackageSummaryList"`
	NextToken               string           `json:"NextToken,omitempty"`
}

type updatePackageInput struct {
	ModelPackageArn                        string                             `json:"ModelPackageArn"`
	ModelApprovalStatus                    string                             `json:"ModelApprovalStatus,omitempty"`
	ModelPackageRegistrationType           string                             `json:"ModelPackageRegistrationType,omitempty"`
	ApprovalDescription                    string                             `json:"ApprovalDescription,omitempty"`
	CustomerMetadataProperties             map[string]string                  `json:"CustomerMetadataProperties,omitempty"`
	CustomerMetadataPropertiesToRemove     []string                           `json:"CustomerMetadataPropertiesToRemove,omitempty"`
	AdditionalInferenceSpecificationsToAdd []AdditionalInferenceSpecification `json:"AdditionalInferenceSpecificationsToAdd,omitempty"`
	InferenceSpecification                 *InferenceSpecification            `json:"InferenceSpecification,omitempty"`
	SourceURI                              string                             `json:"SourceUri,omitempty"`
	ModelCard                              Opaque                             `json:"ModelCard,omitempty"`
	ModelLifeCycle                         Opaque                             `json:"ModelLifeCycle,omitempty"`
	ClientToken                            string                             `json:"ClientToken,omitempty"`
}

// storedPackage is a package's stored document: its description and the
// ClientToken of the CreateModelPackage request that created it, which
// DescribeModelPackage does not show (decoding into ModelPackage drops it).
type storedPackage struct {
	ModelPackage
	ClientToken string `json:"ClientToken,omitempty"`
}

// maxAdditionalSpecs is the model's limit on AdditionalInferenceSpecifications.
const maxAdditionalSpecs = 15

// checkAdditionalSpecNames refuses a name given to more than one of a
// package's additional inference specifications (specs, the package's
// whole list), which SageMaker documents as unique within a package;
// member is the request member that brought the specifications.
func checkAdditionalSpecNames(member string, specs []AdditionalInferenceSpecification) error {
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		if seen[s.Name] {
			return api.Errorf(api.KindInvalid, "%s: the name %s is given to more than one additional inference specification; names must be unique within a model package.", member, s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

func (s *Service) createPackage(ctx context.Context, req *api.Request, in *createPackageInput) (*packageARNOutput, error) {
	sc := scopeOf(req)
	switch {
	case in.ModelPackageName != "" && in.ModelPackageGroupName != "":
		return nil, api.Errorf(api.KindInvalid, "Both ModelPackageName and ModelPackageGroupName are provided in the input. Cannot determine which one to use.")
	case in.ModelPackageName == "" && in.ModelPackageGroupName == "":
		return nil, api.Errorf(api.KindInvalid, "Missing ARN.")
	}
	if err := checkAdditionalSpecNames("AdditionalInferenceSpecifications", in.AdditionalInferenceSpecifications); err != nil {
		return nil, err
	}
	t := now(req)
	// ClientToken makes the request idempotent (the SDKs fill it in): sent
	// again with the same token, as a retry after a lost response is, it
	// answers the ARN of the package the first one created.
	p := storedPackage{ClientToken: in.ClientToken, ModelPackage: ModelPackage{
		ModelPackageSpec:   in.ModelPackageSpec,
		CreationTime:       awstime.Timestamp{Time: t},
		ModelPackageStatus: "Completed",
		ModelPackageStatusDetails: ModelPackageStatusDetails{
			ValidationStatuses: []ModelPackageStatusItem{}, ImageScanStatuses: []ModelPackageStatusItem{},
		},
		CreatedBy: &UserContext{},
	}}
	if in.ModelPackageName != "" {
		p.ModelPackageName = in.ModelPackageName
		p.ModelPackageArn = kindPackage.arn(sc, p.ModelPackageName)
		err := create(ctx, s.Store, kindPackage, sc, p.ModelPackageName, p.ModelPackageArn, t, &p, in.Tags)
		if err != nil && in.ClientToken != "" {
			if old, _, gerr := get[storedPackage](ctx, s.Store, kindPackage, sc, p.ModelPackageName); gerr == nil && old.ClientToken == in.ClientToken {
				return &packageARNOutput{ModelPackageArn: old.ModelPackageArn}, nil
			}
		}
		if err != nil {
			return nil, err
		}
		return &packageARNOutput{ModelPackageArn: p.ModelPackageArn}, nil
	}

	group, err := kindGroup.resolve(sc, in.ModelPackageGroupName)
	if err != nil {
		return nil, err
	}
	if err := checkTagKeys(in.Tags); err != nil { // create checks them on the unversioned path
		return nil, err
	}
	if p.ModelApprovalStatus == "" {
		p.ModelApprovalStatus = "PendingManualApproval"
	}
	// The version is the group's next sequence number, taken in the same
	// transaction that stores the package, and that looks for a version
	// created with the same token.
	gk := kindGroup.key(sc, group)
	build := func(seq int64) (store.Resource, []store.Tag, error) {
		path := group + "/" + strconv.FormatInt(seq, 10)
		p.ModelPackageName, p.ModelPackageGroupName, p.ModelPackageVersion = group, group, int32(seq)
		p.ModelPackageArn = kindPackage.arn(sc, path)
		r, err := newResource(kindPackage, sc, path, p.ModelPackageArn, t, &p)
		return r, toStoreTags(in.Tags), err
	}
	var r store.Resource
	if in.ClientToken == "" {
		r, err = s.Store.CreateChild(ctx, gk, build)
	} else {
		r, _, err = s.Store.CreateChildOnce(ctx, gk, store.Query{Account: sc.account, Region: sc.region, Kind: kindPackage.name,
			Parent: gk.Name, DocEquals: map[string]string{"ClientToken": in.ClientToken}}, build)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, kindGroup.notFound(kindGroup.arn(sc, group))
	}
	if err != nil {
		return nil, err
	}
	return &packageARNOutput{ModelPackageArn: r.ARN}, nil
}

// packageName turns a package reference (NAME, GROUP/VERSION or an ARN)
// into its store name.
func packageName(sc scope, ref string) (string, error) {
	path, err := kindPackage.resolve(sc, ref)
	if err != nil {
		return "", err
	}
	group, version, versioned := strings.Cut(path, "/")
	if !versioned {
		return path, nil
	}
	v, err := strconv.ParseInt(version, 10, 32)
	if err != nil || v <= 0 || strings.Contains(version, "/") {
		return "", kindPackage.notFound(kindPackage.arn(sc, path))
	}
	return group + "/" + strconv.FormatInt(v, 10), nil
}

func (s *Service) getPackage(ctx context.Context, sc scope, ref string) (*ModelPackage, store.Resource, error) {
	name, err := packageName(sc, ref)
	if err != nil {
		return nil, store.Resource{}, err
	}
	return get[ModelPackage](ctx, s.Store, kindPackage, sc, name)
}

func (s *Service) describePackage(ctx context.Context, req *api.Request, in *packageRef) (*ModelPackage, error) {
	p, _, err := s.getPackage(ctx, scopeOf(req), in.ModelPackageName)
	return p, err
}

func (s *Service) deletePackage(ctx context.Context, req *api.Request, in *packageRef) (*struct{}, error) {
	sc := scopeOf(req)
	name, err := packageName(sc, in.ModelPackageName)
	if err != nil {
		return nil, err
	}
	return nil, remove(ctx, s.Store, kindPackage, sc, name)
}

func (s *Service) updatePackage(ctx context.Context, req *api.Request, in *updatePackageInput) (*packageARNOutput, error) {
	sc := scopeOf(req)
	name, err := packageName(sc, in.ModelPackageArn)
	if err != nil {
		return nil, err
	}
	t := now(req)
	p, err := mutate(ctx, s.Store, kindPackage, sc, name, t, func(p *storedPackage) error {
		if n := len(p.AdditionalInferenceSpecifications) + len(in.AdditionalInferenceSpecificationsToAdd); n > maxAdditionalSpecs {
			return api.Errorf(api.KindInvalid, "A model package can have at most %d additional inference specifications; this update would make %d.", maxAdditionalSpecs, n)
		}
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&p.ModelApprovalStatus, in.ModelApprovalStatus)
		set(&p.ModelPackageRegistrationType, in.ModelPackageRegistrationType)
		set(&p.ApprovalDescription, in.ApprovalDescription)
		set(&p.SourceURI, in.SourceURI)
		if in.InferenceSpecification != nil {
			p.InferenceSpecification = in.InferenceSpecification
		}
		if in.ModelCard != nil {
			p.ModelCard = in.ModelCard
		}
		if in.ModelLifeCycle != nil {
			p.ModelLifeCycle = in.ModelLifeCycle
		}
		for k, v := range in.CustomerMetadataProperties {
			if p.CustomerMetadataProperties == nil {
				p.CustomerMetadataProperties = map[string]string{}
			}
			p.CustomerMetadataProperties[k] = v
		}
		for _, k := range in.CustomerMetadataPropertiesToRemove {
			delete(p.CustomerMetadataProperties, k)
		}
		p.AdditionalInferenceSpecifications = append(p.AdditionalInferenceSpecifications, in.AdditionalInferenceSpecificationsToAdd...)
		if err := checkAdditionalSpecNames("AdditionalInferenceSpecificationsToAdd", p.AdditionalInferenceSpecifications); err != nil {
			return err
		}
		p.LastModifiedTime = awstime.At(t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &packageARNOutput{ModelPackageArn: p.ModelPackageArn}, nil
}

func (s *Service) listPackages(ctx context.Context, req *api.Request, in *listPackagesInput) (*listPackagesOutput, error) {
	sc := scopeOf(req)
	q, err := in.query(kindPackage, sc, listOrder{sortBy: "CreationTime"})
	if err != nil {
		return nil, err
	}
	if in.ModelPackageGroupName != "" {
		if q.Parent, err = kindGroup.resolve(sc, in.ModelPackageGroupName); err != nil {
			return nil, err
		}
	}
	switch in.ModelPackageType {
	case "Versioned":
		q.Nesting = store.Nested
	case "Unversioned":
		q.Nesting = store.TopLevel
	case "":
		// SageMaker lists unversioned packages by default, and the
		// versions of the group when one is named.
		if q.Parent == "" {
			q.Nesting = store.TopLevel
		}
	}
	if in.ModelApprovalStatus != "" {
		q.DocEquals = map[string]string{"ModelApprovalStatus": in.ModelApprovalStatus}
	}
	out := &listPackagesOutput{}
	out.ModelPackageSummaryList, out.NextToken, err = list(ctx, s.Store, q, func(p *ModelPackage) packageSummary {
		sum := packageSummary{
			ModelPackageArn: p.ModelPackageArn, ModelPackageDescription: p.ModelPackageDescription,
			CreationTime: p.CreationTime, ModelPackageStatus: p.ModelPackageStatus,
			ModelApprovalStatus: p.ModelApprovalStatus, ModelLifeCycle: p.ModelLifeCycle,
			ModelPackageRegistrationType: p.ModelPackageRegistrationType,
		}
		if p.Versioned() {
			sum.ModelPackageGroupName, sum.ModelPackageVersion = p.ModelPackageGroupName, p.ModelPackageVersion
		} else {
			sum.ModelPackageName = p.ModelPackageName
		}
		return sum
	})
	return out, err
}
