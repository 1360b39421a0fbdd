package sagemaker_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

func createPackageGroup(t *testing.T, e *env, name string) string {
	t.Helper()
	out, err := e.sm.CreateModelPackageGroup(e.ctx, &sagemaker.CreateModelPackageGroupInput{
		ModelPackageGroupName:        aws.String(name),
		ModelPackageGroupDescription: aws.String("models of " + name),
		Tags:                         []types.Tag{{Key: aws.String("group"), Value: aws.String(name)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := arn("model-package-group", name); aws.ToString(out.ModelPackageGroupArn) != want {
		t.Errorf("ModelPackageGroupArn = %s, want %s", aws.ToString(out.ModelPackageGroupArn), want)
	}
	return name
}

func inferenceSpec() *types.InferenceSpecification {
	return &types.InferenceSpecification{
		Containers: []types.ModelPackageContainerDefinition{{
			Image:            aws.String("123456789012.dkr.ecr.us-west-2.amazonaws.com/bert:2"),
			ModelDataUrl:     aws.String("s3://models/bert/model.tar.gz"),
			Environment:      map[string]string{"MAX_BATCH": "8"},
			Framework:        aws.String("PYTORCH"),
			FrameworkVersion: aws.String("2.1"),
			NearestModelName: aws.String("bert-base-uncased"),
		}},
		SupportedRealtimeInferenceInstanceTypes: []types.ProductionVariantInstanceType{types.ProductionVariantInstanceTypeMlC5Xlarge, types.ProductionVariantInstanceTypeMlM5Large},
		SupportedContentTypes:                   []string{"application/json"},
		SupportedResponseMIMETypes:              []string{"application/json"},
	}
}

func versionInput(group string) *sagemaker.CreateModelPackageInput {
	return &sagemaker.CreateModelPackageInput{
		ModelPackageGroupName:   aws.String(group),
		ModelPackageDescription: aws.String("a version"),
		InferenceSpecification:  inferenceSpec(),
		SamplePayloadUrl:        aws.String("s3://payloads/bert.tar.gz"),
		Domain:                  aws.String("NATURAL_LANGUAGE_PROCESSING"),
		Task:                    aws.String("FILL_MASK"),
		ModelMetrics: &types.ModelMetrics{ModelQuality: &types.ModelQuality{Statistics: &types.MetricsSource{
			ContentType: aws.String("application/json"), S3Uri: aws.String("s3://metrics/stats.json")}}},
		CustomerMetadataProperties: map[string]string{"owner": "nlp", "stage": "dev"},
	}
}

func TestModelPackageGroups(t *testing.T) {
	e := newEnv(t, nil)
	start := e.clock.Now()
	names := []string{"Recommenders", "bert", "Vision-Models"}
	for _, n := range names {
		createPackageGroup(t, e, n)
		e.clock.Advance(time.Second)
	}

	// By name or by ARN; names keep their case in these ARNs.
	for _, ref := range []string{"Vision-Models", arn("model-package-group", "Vision-Models")} {
		d, err := e.sm.DescribeModelPackageGroup(e.ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String(ref)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.ModelPackageGroupName) != "Vision-Models" || aws.ToString(d.ModelPackageGroupArn) != arn("model-package-group", "Vision-Models") ||
			aws.ToString(d.ModelPackageGroupDescription) != "models of Vision-Models" || d.ModelPackageGroupStatus != types.ModelPackageGroupStatusCompleted ||
			!aws.ToTime(d.CreationTime).Equal(start.Add(2*time.Second)) || d.CreatedBy == nil {
			t.Errorf("DescribeModelPackageGroup(%s) = %+v", ref, d)
		}
	}

	errTests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"describe missing", func() error {
			_, err := e.sm.DescribeModelPackageGroup(e.ctx, &sagemaker.DescribeModelPackageGroupInput{ModelPackageGroupName: aws.String("vision-models")})
			return err
		}, "ValidationException", "ModelPackageGroup " + arn("model-package-group", "vision-models") + " does not exist."},
		{"create twice", func() error {
			_, err := e.sm.CreateModelPackageGroup(e.ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("bert")})
			return err
		}, "ValidationException", "Model Package Group already exists: " + arn("model-package-group", "bert")},
		{"ARN of another account", func() error {
			_, err := e.sm.DescribeModelPackageGroup(e.ctx, &sagemaker.DescribeModelPackageGroupInput{
				ModelPackageGroupName: aws.String("arn:aws:sagemaker:us-west-2:999999999999:model-package-group/bert")})
			return err
		}, "ValidationException", "ModelPackageGroup arn:aws:sagemaker:us-west-2:999999999999:model-package-group/bert does not exist."},
		{"delete missing", func() error {
			_, err := e.sm.DeleteModelPackageGroup(e.ctx, &sagemaker.DeleteModelPackageGroupInput{ModelPackageGroupName: aws.String("nope")})
			return err
		}, "ValidationException", "ModelPackageGroup " + arn("model-package-group", "nope") + " does not exist."},
		{"bad name", func() error {
			_, err := e.sm.CreateModelPackageGroup(e.ctx, &sagemaker.CreateModelPackageGroupInput{ModelPackageGroupName: aws.String("-x")})
			return err
		}, "ValidationException", "1 validation error detected: Value '-x' at 'modelPackageGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: ..."},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.call(), tt.code, tt.msg) })
	}

	list := func(in sagemaker.ListModelPackageGroupsInput) []string {
		t.Helper()
		var got []string
		p := sagemaker.NewListModelPackageGroupsPaginator(e.sm, &in)
		for p.HasMorePages() {
			out, err := p.NextPage(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range out.ModelPackageGroupSummaryList {
				got = append(got, aws.ToString(g.ModelPackageGroupName))
			}
		}
		return got
	}
	listTests := []struct {
		name string
		in   sagemaker.ListModelPackageGroupsInput
		want []string
	}{
		{"defaults: oldest first", sagemaker.ListModelPackageGroupsInput{}, names},
		{"newest first, pages of one", sagemaker.ListModelPackageGroupsInput{SortOrder: types.SortOrderDescending, MaxResults: aws.Int32(1)}, []string{"Vision-Models", "bert", "Recommenders"}},
		{"by name", sagemaker.ListModelPackageGroupsInput{SortBy: types.ModelPackageGroupSortByName, MaxResults: aws.Int32(2)}, []string{"Recommenders", "Vision-Models", "bert"}},
		{"name contains, ignoring case", sagemaker.ListModelPackageGroupsInput{NameContains: aws.String("MODEL")}, []string{"Vision-Models"}},
		{"created after", sagemaker.ListModelPackageGroupsInput{CreationTimeAfter: aws.Time(start.Add(time.Second))}, names[1:]},
		{"other accounts' groups", sagemaker.ListModelPackageGroupsInput{CrossAccountFilterOption: types.CrossAccountFilterOptionCrossAccount}, nil},
	}
	for _, tt := range listTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// A group with versions cannot be deleted; once they are gone it can.
	if _, err := e.sm.CreateModelPackage(e.ctx, versionInput("bert")); err != nil {
		t.Fatal(err)
	}
	_, err := e.sm.DeleteModelPackageGroup(e.ctx, &sagemaker.DeleteModelPackageGroupInput{ModelPackageGroupName: aws.String("bert")})
	wantErr(t, err, "ConflictException", "Model Package Group "+arn("model-package-group", "bert")+" cannot be deleted because it contains model packages.")
	if _, err := e.sm.DeleteModelPackage(e.ctx, &sagemaker.DeleteModelPackageInput{ModelPackageName: aws.String("bert/1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sm.DeleteModelPackageGroup(e.ctx, &sagemaker.DeleteModelPackageGroupInput{ModelPackageGroupName: aws.String(arn("model-package-group", "bert"))}); err != nil {
		t.Fatal(err)
	}
	if got := list(sagemaker.ListModelPackageGroupsInput{}); !slices.Equal(got, []string{"Recommenders", "Vision-Models"}) {
		t.Errorf("after delete: %v", got)
	}
}

func TestModelPackages(t *testing.T) {
	e := newEnv(t, nil)
	createPackageGroup(t, e, "Bert")
	start := e.clock.Now()
	for v := 1; v <= 3; v++ {
		in := versionInput("Bert")
		if v == 2 {
			in.ModelApprovalStatus = types.ModelApprovalStatusApproved
			in.ModelPackageGroupName = aws.String(arn("model-package-group", "Bert")) // by ARN
		}
		out, err := e.sm.CreateModelPackage(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if want := arn("model-package", fmt.Sprintf("Bert/%d", v)); aws.ToString(out.ModelPackageArn) != want {
			t.Errorf("version %d ARN = %s, want %s", v, aws.ToString(out.ModelPackageArn), want)
		}
		e.clock.Advance(time.Second)
	}
	unversioned, err := e.sm.CreateModelPackage(e.ctx, &sagemaker.CreateModelPackageInput{
		ModelPackageName:       aws.String("Standalone-Bert"),
		InferenceSpecification: inferenceSpec(),
		Tags:                   []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := arn("model-package", "Standalone-Bert"); aws.ToString(unversioned.ModelPackageArn) != want {
		t.Errorf("unversioned ARN = %s, want %s", aws.ToString(unversioned.ModelPackageArn), want)
	}

	t.Run("describe", func(t *testing.T) {
		for _, ref := range []string{"Bert/1", arn("model-package", "Bert/1")} {
			d, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String(ref)})
			if err != nil {
				t.Fatal(err)
			}
			spec := d.InferenceSpecification
			if aws.ToString(d.ModelPackageName) != "Bert" || aws.ToString(d.ModelPackageGroupName) != "Bert" || aws.ToInt32(d.ModelPackageVersion) != 1 ||
				aws.ToString(d.ModelPackageArn) != arn("model-package", "Bert/1") || !aws.ToTime(d.CreationTime).Equal(start) ||
				d.ModelPackageStatus != types.ModelPackageStatusCompleted || d.ModelApprovalStatus != types.ModelApprovalStatusPendingManualApproval ||
				d.ModelPackageStatusDetails == nil || aws.ToString(d.SamplePayloadUrl) != "s3://payloads/bert.tar.gz" ||
				aws.ToString(d.Domain) != "NATURAL_LANGUAGE_PROCESSING" || aws.ToString(d.Task) != "FILL_MASK" ||
				d.ModelMetrics == nil || aws.ToString(d.ModelMetrics.ModelQuality.Statistics.S3Uri) != "s3://metrics/stats.json" ||
				d.CustomerMetadataProperties["owner"] != "nlp" || d.LastModifiedTime != nil ||
				spec == nil || len(spec.Containers) != 1 || aws.ToString(spec.Containers[0].Framework) != "PYTORCH" ||
				spec.Containers[0].Environment["MAX_BATCH"] != "8" ||
				!slices.Equal(spec.SupportedRealtimeInferenceInstanceTypes, []types.ProductionVariantInstanceType{"ml.c5.xlarge", "ml.m5.large"}) ||
				!slices.Equal(spec.SupportedContentTypes, []string{"application/json"}) {
				t.Errorf("DescribeModelPackage(%s) = %+v\nspec %+v", ref, d, spec)
			}
		}
		d, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("Standalone-Bert")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.ModelPackageName) != "Standalone-Bert" || d.ModelPackageGroupName != nil || d.ModelPackageVersion != nil || d.ModelApprovalStatus != "" {
			t.Errorf("unversioned = %+v", d)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			call func() error
			msg  string
		}{
			{"both names", func() error {
				in := versionInput("Bert")
				in.ModelPackageName = aws.String("x")
				_, err := e.sm.CreateModelPackage(e.ctx, in)
				return err
			}, "Both ModelPackageName and ModelPackageGroupName are provided in the input. Cannot determine which one to use."},
			{"no name", func() error {
				in := versionInput("Bert")
				in.ModelPackageGroupName = nil
				_, err := e.sm.CreateModelPackage(e.ctx, in)
				return err
			}, "Missing ARN."},
			{"missing group", func() error { _, err := e.sm.CreateModelPackage(e.ctx, versionInput("bert")); return err },
				"ModelPackageGroup " + arn("model-package-group", "bert") + " does not exist."},
			{"unversioned twice", func() error {
				_, err := e.sm.CreateModelPackage(e.ctx, &sagemaker.CreateModelPackageInput{ModelPackageName: aws.String("Standalone-Bert"), InferenceSpecification: inferenceSpec()})
				return err
			}, "Model Package already exists: " + arn("model-package", "Standalone-Bert")},
			{"missing version", func() error {
				_, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("Bert/9")})
				return err
			}, "ModelPackage " + arn("model-package", "Bert/9") + " does not exist."},
			{"version zero", func() error {
				_, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("Bert/0")})
				return err
			}, "ModelPackage " + arn("model-package", "Bert/0") + " does not exist."},
			{"ARN of another region", func() error {
				_, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{
					ModelPackageName: aws.String("arn:aws:sagemaker:eu-west-1:123456789012:model-package/Bert/1")})
				return err
			}, "ARN should be scoped to correct region: us-west-2"},
			{"bad instance type", func() error {
				in := versionInput("Bert")
				in.InferenceSpecification.SupportedRealtimeInferenceInstanceTypes = []types.ProductionVariantInstanceType{"ml.c5.xlarge", "ml.nope"}
				_, err := e.sm.CreateModelPackage(e.ctx, in)
				return err
			}, "1 validation error detected: Value '[ml.c5.xlarge, ml.nope]' at 'inferenceSpecification.supportedRealtimeInferenceInstanceTypes' " +
				"failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ml.t2.medium, ..."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.call(), "ValidationException", tt.msg) })
		}
	})

	t.Run("list", func(t *testing.T) {
		list := func(in sagemaker.ListModelPackagesInput) []string {
			t.Helper()
			var got []string
			p := sagemaker.NewListModelPackagesPaginator(e.sm, &in)
			for p.HasMorePages() {
				out, err := p.NextPage(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range out.ModelPackageSummaryList {
					if s.ModelPackageGroupName != nil {
						// Versions are summarized by group and version, without a name.
						if s.ModelPackageName != nil {
							t.Errorf("version summary with a name: %+v", s)
						}
						got = append(got, fmt.Sprintf("%s/%d", aws.ToString(s.ModelPackageGroupName), aws.ToInt32(s.ModelPackageVersion)))
					} else {
						got = append(got, aws.ToString(s.ModelPackageName))
					}
				}
			}
			return got
		}
		tests := []struct {
			name string
			in   sagemaker.ListModelPackagesInput
			want []string
		}{
			{"default: unversioned", sagemaker.ListModelPackagesInput{}, []string{"Standalone-Bert"}},
			{"a group's versions", sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("Bert"), MaxResults: aws.Int32(2)}, []string{"Bert/1", "Bert/2", "Bert/3"}},
			{"group by ARN, newest first", sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String(arn("model-package-group", "Bert")), SortOrder: types.SortOrderDescending},
				[]string{"Bert/3", "Bert/2", "Bert/1"}},
			{"versioned", sagemaker.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeVersioned}, []string{"Bert/1", "Bert/2", "Bert/3"}},
			{"both", sagemaker.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeBoth, MaxResults: aws.Int32(1)}, []string{"Bert/1", "Bert/2", "Bert/3", "Standalone-Bert"}},
			{"both by name, descending", sagemaker.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeBoth, SortBy: types.ModelPackageSortByName, SortOrder: types.SortOrderDescending},
				[]string{"Standalone-Bert", "Bert/3", "Bert/2", "Bert/1"}},
			{"approved", sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("Bert"), ModelApprovalStatus: types.ModelApprovalStatusApproved}, []string{"Bert/2"}},
			{"name contains", sagemaker.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeBoth, NameContains: aws.String("standalone")}, []string{"Standalone-Bert"}},
			// Only names are searched, not version numbers.
			{"name contains a version number", sagemaker.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeBoth, NameContains: aws.String("2")}, nil},
			{"created before", sagemaker.ListModelPackagesInput{ModelPackageType: types.ModelPackageTypeBoth, CreationTimeBefore: aws.Time(start.Add(time.Second))}, []string{"Bert/1"}},
			{"unversioned in a group", sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("Bert"), ModelPackageType: types.ModelPackageTypeUnversioned}, nil},
			{"missing group", sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("nope")}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := list(tt.in); !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	})

	t.Run("update", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		updated := e.clock.Now()
		out, err := e.sm.UpdateModelPackage(e.ctx, &sagemaker.UpdateModelPackageInput{
			ModelPackageArn:                    aws.String(arn("model-package", "Bert/3")),
			ModelApprovalStatus:                types.ModelApprovalStatusApproved,
			ApprovalDescription:                aws.String("passed load test"),
			CustomerMetadataProperties:         map[string]string{"stage": "prod", "reviewer": "ana"},
			CustomerMetadataPropertiesToRemove: []string{"owner"},
			AdditionalInferenceSpecificationsToAdd: []types.AdditionalInferenceSpecificationDefinition{{
				Name: aws.String("gpu"), Containers: []types.ModelPackageContainerDefinition{{Image: aws.String("bert-gpu:2")}},
				SupportedRealtimeInferenceInstanceTypes: []types.ProductionVariantInstanceType{types.ProductionVariantInstanceTypeMlG5Xlarge},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ModelPackageArn) != arn("model-package", "Bert/3") {
			t.Errorf("UpdateModelPackage ARN = %s", aws.ToString(out.ModelPackageArn))
		}
		d, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("Bert/3")})
		if err != nil {
			t.Fatal(err)
		}
		wantMeta := map[string]string{"stage": "prod", "reviewer": "ana"}
		if d.ModelApprovalStatus != types.ModelApprovalStatusApproved || aws.ToString(d.ApprovalDescription) != "passed load test" ||
			len(d.CustomerMetadataProperties) != 2 || d.CustomerMetadataProperties["stage"] != wantMeta["stage"] || d.CustomerMetadataProperties["reviewer"] != "ana" ||
			len(d.AdditionalInferenceSpecifications) != 1 || aws.ToString(d.AdditionalInferenceSpecifications[0].Name) != "gpu" ||
			!aws.ToTime(d.LastModifiedTime).Equal(updated) || !aws.ToTime(d.CreationTime).Equal(start.Add(2*time.Second)) ||
			d.InferenceSpecification == nil {
			t.Errorf("after update: %+v", d)
		}
		_, err = e.sm.UpdateModelPackage(e.ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(arn("model-package", "Bert/7"))})
		wantErr(t, err, "ValidationException", "ModelPackage "+arn("model-package", "Bert/7")+" does not exist.")
		// At most 15 additional specifications.
		var many []types.AdditionalInferenceSpecificationDefinition
		for i := range 15 {
			many = append(many, types.AdditionalInferenceSpecificationDefinition{Name: aws.String(fmt.Sprintf("s%d", i)),
				Containers: []types.ModelPackageContainerDefinition{{Image: aws.String("x")}}})
		}
		_, err = e.sm.UpdateModelPackage(e.ctx, &sagemaker.UpdateModelPackageInput{ModelPackageArn: aws.String(arn("model-package", "Bert/3")), AdditionalInferenceSpecificationsToAdd: many})
		wantErr(t, err, "ValidationException", "A model package can have at most 15 additional inference specifications; this update would make 16.")
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := e.sm.DeleteModelPackage(e.ctx, &sagemaker.DeleteModelPackageInput{ModelPackageName: aws.String(arn("model-package", "Bert/3"))}); err != nil {
			t.Fatal(err)
		}
		_, err := e.sm.DeleteModelPackage(e.ctx, &sagemaker.DeleteModelPackageInput{ModelPackageName: aws.String("Bert/3")})
		wantErr(t, err, "ValidationException", "ModelPackage "+arn("model-package", "Bert/3")+" does not exist.")
		// Version numbers are not reused.
		out, err := e.sm.CreateModelPackage(e.ctx, versionInput("Bert"))
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ModelPackageArn) != arn("model-package", "Bert/4") {
			t.Errorf("next version ARN = %s, want .../Bert/4", aws.ToString(out.ModelPackageArn))
		}
		if _, err := e.sm.DeleteModelPackage(e.ctx, &sagemaker.DeleteModelPackageInput{ModelPackageName: aws.String("Standalone-Bert")}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestModelPackageClientToken: CreateModelPackage's ClientToken is an
// idempotency token (the SDKs fill it in), so a request sent again with the
// same token, as a retry after a lost response is, creates nothing more and
// answers the ARN of the package the first one created.
func TestModelPackageClientToken(t *testing.T) {
	e := newEnv(t, nil)
	createPackageGroup(t, e, "Idem")
	for range 2 {
		in := versionInput("Idem")
		in.ClientToken = aws.String("retry-version")
		out, err := e.sm.CreateModelPackage(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if want := arn("model-package", "Idem/1"); aws.ToString(out.ModelPackageArn) != want {
			t.Errorf("ModelPackageArn = %s, want %s", aws.ToString(out.ModelPackageArn), want)
		}
		e.clock.Advance(time.Second)
	}
	// Another token is another version.
	out, err := e.sm.CreateModelPackage(e.ctx, versionInput("Idem"))
	if err != nil {
		t.Fatal(err)
	}
	if want := arn("model-package", "Idem/2"); aws.ToString(out.ModelPackageArn) != want {
		t.Errorf("ModelPackageArn = %s, want %s", aws.ToString(out.ModelPackageArn), want)
	}
	l, err := e.sm.ListModelPackages(e.ctx, &sagemaker.ListModelPackagesInput{ModelPackageGroupName: aws.String("Idem")})
	if err != nil {
		t.Fatal(err)
	}
	var versions []int32
	for _, s := range l.ModelPackageSummaryList {
		versions = append(versions, aws.ToInt32(s.ModelPackageVersion))
	}
	if !slices.Equal(versions, []int32{1, 2}) {
		t.Errorf("versions = %v, want [1 2]", versions)
	}
	// The token is not part of the description (CheckOutput would refuse it).
	if _, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("Idem/1")}); err != nil {
		t.Fatal(err)
	}

	// An unversioned package: the retry answers its ARN, not "already exists";
	// another token for the same name still does.
	solo := func(token string) (*sagemaker.CreateModelPackageOutput, error) {
		return e.sm.CreateModelPackage(e.ctx, &sagemaker.CreateModelPackageInput{
			ModelPackageName: aws.String("Solo"), InferenceSpecification: inferenceSpec(), ClientToken: aws.String(token),
		})
	}
	for range 2 {
		out, err := solo("retry-solo")
		if err != nil {
			t.Fatal(err)
		}
		if want := arn("model-package", "Solo"); aws.ToString(out.ModelPackageArn) != want {
			t.Errorf("ModelPackageArn = %s, want %s", aws.ToString(out.ModelPackageArn), want)
		}
	}
	_, err = solo("another")
	wantErr(t, err, "ValidationException", "Model Package already exists: "+arn("model-package", "Solo"))
}

// TestAdditionalInferenceSpecificationNames: as SageMaker documents
// AdditionalInferenceSpecificationDefinition.Name, a name is unique among a
// package's additional specifications; CreateModelPackage and
// UpdateModelPackage refuse a repeated one, and a refused update changes
// nothing.
func TestAdditionalInferenceSpecificationNames(t *testing.T) {
	e := newEnv(t, nil)
	createPackageGroup(t, e, "Neo")
	spec := func(name string) types.AdditionalInferenceSpecificationDefinition {
		return types.AdditionalInferenceSpecificationDefinition{Name: aws.String(name),
			Containers: []types.ModelPackageContainerDefinition{{Image: aws.String("bert-" + name + ":1")}}}
	}
	in := versionInput("Neo")
	in.AdditionalInferenceSpecifications = []types.AdditionalInferenceSpecificationDefinition{spec("gpu"), spec("inf2"), spec("gpu")}
	_, err := e.sm.CreateModelPackage(e.ctx, in)
	wantErr(t, err, "ValidationException", "AdditionalInferenceSpecifications: the name gpu is given to more than one additional inference specification; names must be unique within a model package.")

	in.AdditionalInferenceSpecifications = in.AdditionalInferenceSpecifications[:2]
	in.ClientToken = nil // the SDK filled in the refused request's
	out, err := e.sm.CreateModelPackage(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := arn("model-package", "Neo/1"); aws.ToString(out.ModelPackageArn) != want {
		t.Errorf("ModelPackageArn = %s, want %s (the refused request numbers no version)", aws.ToString(out.ModelPackageArn), want)
	}
	for _, add := range [][]types.AdditionalInferenceSpecificationDefinition{{spec("inf2")}, {spec("cpu"), spec("cpu")}} {
		_, err = e.sm.UpdateModelPackage(e.ctx, &sagemaker.UpdateModelPackageInput{
			ModelPackageArn: out.ModelPackageArn, ModelApprovalStatus: types.ModelApprovalStatusApproved, AdditionalInferenceSpecificationsToAdd: add,
		})
		wantErr(t, err, "ValidationException", "AdditionalInferenceSpecificationsToAdd: the name "+aws.ToString(add[0].Name)+
			" is given to more than one additional inference specification; names must be unique within a model package.")
	}
	d, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: out.ModelPackageArn})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range d.AdditionalInferenceSpecifications {
		names = append(names, aws.ToString(s.Name))
	}
	if !slices.Equal(names, []string{"gpu", "inf2"}) || d.ModelApprovalStatus != types.ModelApprovalStatusPendingManualApproval || d.LastModifiedTime != nil {
		t.Errorf("after refused updates: names %v, status %s, LastModifiedTime %v", names, d.ModelApprovalStatus, d.LastModifiedTime)
	}
	if _, err := e.sm.UpdateModelPackage(e.ctx, &sagemaker.UpdateModelPackageInput{
		ModelPackageArn: out.ModelPackageArn, AdditionalInferenceSpecificationsToAdd: []types.AdditionalInferenceSpecificationDefinition{spec("cpu")},
	}); err != nil {
		t.Fatal(err)
	}
}
