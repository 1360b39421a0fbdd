package sagemaker

import (
	"encoding/json"

	"github.com/inferscale/inferscale/internal/awstime"
)

// The Go forms of the SageMaker shapes these operations use. JSON names are
// the botocore model's member names, exactly (api.Service.Handle checks
// them). Members that inferscale reads are typed; deep configuration that
// it only stores and returns (VPC settings, model metrics, drift baselines,
// ...) is Opaque.

// Opaque is a member that inferscale keeps and returns verbatim without
// interpreting it. The request was validated against the model before
// decoding, so what is kept conforms to the member's shape.
type Opaque json.RawMessage

// MarshalJSON returns the JSON as received.
func (o Opaque) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return o, nil
}

// UnmarshalJSON keeps a copy of the JSON; null is no value.
func (o *Opaque) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = nil
		return nil
	}
	*o = append((*o)[:0], b...)
	return nil
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// UserContext is who created or changed a resource; inferscale leaves it
// empty.
type UserContext struct {
	UserProfileArn  string `json:"UserProfileArn,omitempty"`
	UserProfileName string `json:"UserProfileName,omitempty"`
	DomainID        string `json:"DomainId,omitempty"`
}

// listParams are the members every List operation here shares.
type listParams struct {
	NameContains       string             `json:"NameContains,omitempty"`
	CreationTimeAfter  *awstime.Timestamp `json:"CreationTimeAfter,omitempty"`
	CreationTimeBefore *awstime.Timestamp `json:"CreationTimeBefore,omitempty"`
	SortBy             string             `json:"SortBy,omitempty"`
	SortOrder          string             `json:"SortOrder,omitempty"`
	MaxResults         int32              `json:"MaxResults,omitempty"`
	NextToken          string             `json:"NextToken,omitempty"`
}

// ContainerDefinition is a container of a model.
type ContainerDefinition struct {
	ContainerHostname          string            `json:"ContainerHostname,omitempty"`
	Image                      string            `json:"Image,omitempty"`
	ImageConfig                Opaque            `json:"ImageConfig,omitempty"`
	Mode                       string            `json:"Mode,omitempty"` // SingleModel or MultiModel
	ModelDataURL               string            `json:"ModelDataUrl,omitempty"`
	ModelDataSource            Opaque            `json:"ModelDataSource,omitempty"`
	AdditionalModelDataSources Opaque            `json:"AdditionalModelDataSources,omitempty"`
	Environment                map[string]string `json:"Environment,omitempty"`
	ModelPackageName           string            `json:"ModelPackageName,omitempty"`
	InferenceSpecificationName string            `json:"InferenceSpecificationName,omitempty"`
	MultiModelConfig           Opaque            `json:"MultiModelConfig,omitempty"`
}

// InferenceExecutionConfig says how a model's containers are called.
type InferenceExecutionConfig struct {
	Mode string `json:"Mode"` // Serial or Direct
}

// ModelSpec is what CreateModel takes and DescribeModel returns about a
// model's containers and execution.
type ModelSpec struct {
	PrimaryContainer         *ContainerDefinition      `json:"PrimaryContainer,omitempty"`
	Containers               []ContainerDefinition     `json:"Containers,omitempty"`
	InferenceExecutionConfig *InferenceExecutionConfig `json:"InferenceExecutionConfig,omitempty"`
	ExecutionRoleArn         string                    `json:"ExecutionRoleArn,omitempty"`
	VpcConfig                Opaque                    `json:"VpcConfig,omitempty"`
	EnableNetworkIsolation   bool                      `json:"EnableNetworkIsolation"`
}

// Model is a stored model: the DescribeModel output.
type Model struct {
	ModelName string `json:"ModelName"`
	ModelSpec
	CreationTime awstime.Timestamp `json:"CreationTime"`
	ModelArn     string            `json:"ModelArn"`
}

// ModelPackageGroup is a stored model package group: the
// DescribeModelPackageGroup output.
type ModelPackageGroup struct {
	ModelPackageGroupName        string            `json:"ModelPackageGroupName"`
	ModelPackageGroupArn         string            `json:"ModelPackageGroupArn"`
	ModelPackageGroupDescription string            `json:"ModelPackageGroupDescription,omitempty"`
	CreationTime                 awstime.Timestamp `json:"CreationTime"`
	CreatedBy                    UserContext       `json:"CreatedBy"`
	ModelPackageGroupStatus      string            `json:"ModelPackageGroupStatus"`
	ManagedConfiguration         Opaque            `json:"ManagedConfiguration,omitempty"`
}

// ModelPackageContainerDefinition is a container of a model package.
type ModelPackageContainerDefinition struct {
	ContainerHostname          string            `json:"ContainerHostname,omitempty"`
	Image                      string            `json:"Image,omitempty"`
	ImageDigest                string            `json:"ImageDigest,omitempty"`
	ModelDataURL               string            `json:"ModelDataUrl,omitempty"`
	ModelDataSource            Opaque            `json:"ModelDataSource,omitempty"`
	ProductID                  string            `json:"ProductId,omitempty"`
	Environment                map[string]string `json:"Environment,omitempty"`
	ModelInput                 Opaque            `json:"ModelInput,omitempty"`
	Framework                  string            `json:"Framework,omitempty"`
	FrameworkVersion           string            `json:"FrameworkVersion,omitempty"`
	NearestModelName           string            `json:"NearestModelName,omitempty"`
	AdditionalModelDataSources Opaque            `json:"AdditionalModelDataSources,omitempty"`
	AdditionalS3DataSource     Opaque            `json:"AdditionalS3DataSource,omitempty"`
	ModelDataETag              string            `json:"ModelDataETag,omitempty"`
	IsCheckpoint               *bool             `json:"IsCheckpoint,omitempty"`
	BaseModel                  Opaque            `json:"BaseModel,omitempty"`
}

// InferenceSpecification is how a model package is served: its containers
// and the instance types and content types it supports.
type InferenceSpecification struct {
	Containers                              []ModelPackageContainerDefinition `json:"Containers"`
	SupportedTransformInstanceTypes         []string                          `json:"SupportedTransformInstanceTypes,omitempty"`
	SupportedRealtimeInferenceInstanceTypes []string                          `json:"SupportedRealtimeInferenceInstanceTypes,omitempty"`
	SupportedContentTypes                   []string                          `json:"SupportedContentTypes,omitempty"`
	SupportedResponseMIMETypes              []string                          `json:"SupportedResponseMIMETypes,omitempty"`
}

// AdditionalInferenceSpecification is a further, named way to serve a
// model package.
type AdditionalInferenceSpecification struct {
	Name        string `json:"Name"`
	Description string `json:"Description,omitempty"`
	InferenceSpecification
}

// ModelPackageSpec is what CreateModelPackage takes and
// DescribeModelPackage returns about a package's content.
type ModelPackageSpec struct {
	ModelPackageDescription           string                             `json:"ModelPackageDescription,omitempty"`
	ModelPackageRegistrationType      string                             `json:"ModelPackageRegistrationType,omitempty"`
	InferenceSpecification            *InferenceSpecification            `json:"InferenceSpecification,omitempty"`
	ValidationSpecification           Opaque                             `json:"ValidationSpecification,omitempty"`
	SourceAlgorithmSpecification      Opaque                             `json:"SourceAlgorithmSpecification,omitempty"`
	CertifyForMarketplace             bool                               `json:"CertifyForMarketplace,omitempty"`
	ModelApprovalStatus               string                             `json:"ModelApprovalStatus,omitempty"`
	MetadataProperties                Opaque                             `json:"MetadataProperties,omitempty"`
	ModelMetrics                      Opaque                             `json:"ModelMetrics,omitempty"`
	Domain                            string                             `json:"Domain,omitempty"`
	Task                              string                             `json:"Task,omitempty"`
	SamplePayloadURL                  string                             `json:"SamplePayloadUrl,omitempty"`
	CustomerMetadataProperties        map[string]string                  `json:"CustomerMetadataProperties,omitempty"`
	DriftCheckBaselines               Opaque                             `json:"DriftCheckBaselines,omitempty"`
	AdditionalInferenceSpecifications []AdditionalInferenceSpecification `json:"AdditionalInferenceSpecifications,omitempty"`
	SkipModelValidation               string                             `json:"SkipModelValidation,omitempty"`
	SourceURI                         string                             `json:"SourceUri,omitempty"`
	SecurityConfig                    Opaque                             `json:"SecurityConfig,omitempty"`
	ModelCard                         Opaque                             `json:"ModelCard,omitempty"`
	ModelLifeCycle                    Opaque                             `json:"ModelLifeCycle,omitempty"`
	ManagedStorageType                string                             `json:"ManagedStorageType,omitempty"`
}

// ModelPackageStatusItem is the status of one validation or image scan.
type ModelPackageStatusItem struct {
	Name          string `json:"Name"`
	Status        string `json:"Status"`
	FailureReason string `json:"FailureReason,omitempty"`
}

// ModelPackageStatusDetails are a package's validation and scan statuses.
type ModelPackageStatusDetails struct {
	ValidationStatuses []ModelPackageStatusItem `json:"ValidationStatuses"`
	ImageScanStatuses  []ModelPackageStatusItem `json:"ImageScanStatuses"`
}

// ModelPackage is a stored model package, versioned (in a group) or not:
// the DescribeModelPackage output. For a version, ModelPackageName is the
// group's name.
type ModelPackage struct {
	ModelPackageName      string `json:"ModelPackageName"`
	ModelPackageGroupName string `json:"ModelPackageGroupName,omitempty"`
	ModelPackageVersion   int32  `json:"ModelPackageVersion,omitempty"`
	ModelPackageArn       string `json:"ModelPackageArn"`
	ModelPackageSpec
	CreationTime              awstime.Timestamp         `json:"CreationTime"`
	ModelPackageStatus        string                    `json:"ModelPackageStatus"`
	ModelPackageStatusDetails ModelPackageStatusDetails `json:"ModelPackageStatusDetails"`
	CreatedBy                 *UserContext              `json:"CreatedBy,omitempty"`
	LastModifiedTime          *awstime.Timestamp        `json:"LastModifiedTime,omitempty"`
	ApprovalDescription       string                    `json:"ApprovalDescription,omitempty"`
}

// Versioned reports whether the package is a version in a group.
func (p *ModelPackage) Versioned() bool { return p.ModelPackageGroupName != "" }
