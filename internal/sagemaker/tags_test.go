package sagemaker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/inferscale/inferscale/internal/api"
	sm "github.com/inferscale/inferscale/internal/sagemaker"
)

func tagList(kv ...string) []types.Tag {
	var tags []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return tags
}

func tagString(tags []types.Tag) string {
	var parts []string
	for _, t := range tags {
		parts = append(parts, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return strings.Join(parts, " ")
}

func TestTags(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.sm.CreateModel(e.ctx, createModelInput("tagged")); err != nil {
		t.Fatal(err)
	}
	createPackageGroup(t, e, "G")
	if _, err := e.sm.CreateModelPackage(e.ctx, versionInput("G")); err != nil {
		t.Fatal(err)
	}
	resources := map[string]string{
		"model":   arn("model", "tagged"),
		"group":   arn("model-package-group", "G"),
		"version": arn("model-package", "G/1"),
	}
	for what, a := range resources {
		t.Run(what, func(t *testing.T) {
			list := func() string {
				t.Helper()
				out, err := e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(a)})
				if err != nil {
					t.Fatal(err)
				}
				return tagString(out.Tags)
			}
			initial := list()
			added, err := e.sm.AddTags(e.ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(a), Tags: tagList("env", "prod", "cost-center", "42")})
			if err != nil {
				t.Fatal(err)
			}
			if tagString(added.Tags) != "env=prod cost-center=42" {
				t.Errorf("AddTags returned %s", tagString(added.Tags))
			}
			if _, err := e.sm.AddTags(e.ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(a), Tags: tagList("env", "staging")}); err != nil {
				t.Fatal(err)
			}
			want := strings.TrimSpace("cost-center=42 env=staging " + initial)
			if got := list(); !sameWords(got, want) {
				t.Errorf("tags %q, want %q", got, want)
			}
			if _, err := e.sm.DeleteTags(e.ctx, &sagemaker.DeleteTagsInput{ResourceArn: aws.String(a), TagKeys: []string{"env", "no-such-key"}}); err != nil {
				t.Fatal(err)
			}
			if got, want := list(), strings.TrimSpace("cost-center=42 "+initial); !sameWords(got, want) {
				t.Errorf("after delete: %q, want %q", got, want)
			}
		})
	}

	t.Run("limit", func(t *testing.T) {
		a := resources["version"]
		out, _ := e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(a)})
		have := len(out.Tags)
		var kv []string
		for i := have; i < 50; i++ {
			kv = append(kv, fmt.Sprintf("k%02d", i), "v")
		}
		if _, err := e.sm.AddTags(e.ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(a), Tags: tagList(kv...)}); err != nil {
			t.Fatal(err)
		}
		_, err := e.sm.AddTags(e.ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(a), Tags: tagList("one-too-many", "v")})
		wantErr(t, err, "ResourceLimitExceeded", "A resource can have at most 50 tags.")
		// Pages: MaxResults is at least 50, so all 50 fit in one page.
		out, err = e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(a), MaxResults: aws.Int32(50)})
		if err != nil || len(out.Tags) != 50 || out.NextToken != nil {
			t.Errorf("ListTags: %d tags, next %v, %v", len(out.Tags), out.NextToken, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			call func() error
			code string
			msg  string
		}{
			{"unknown ARN", func() error {
				_, err := e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(arn("model", "nope"))})
				return err
			}, "ValidationException", "Resource does not exist"},
			{"reserved prefix", func() error {
				_, err := e.sm.AddTags(e.ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(resources["model"]), Tags: tagList("ok", "v", "AWS:owner", "me")})
				return err
			}, "ValidationException", `Tag key "AWS:owner": keys starting with 'aws:' are reserved for AWS use.`},
			{"reserved prefix at creation", func() error {
				in := createModelInput("reserved")
				in.Tags = tagList("aws:cloudformation:stack-name", "s")
				_, err := e.sm.CreateModel(e.ctx, in)
				return err
			}, "ValidationException", `Tag key "aws:cloudformation:stack-name": keys starting with 'aws:' are reserved for AWS use.`},
			{"reserved prefix on a package version", func() error {
				_, err := e.sm.CreateModelPackage(e.ctx, &sagemaker.CreateModelPackageInput{ModelPackageGroupName: aws.String("reserved-group"),
					Tags: tagList("aws:x", "s")})
				return err
			}, "ValidationException", `Tag key "aws:x": keys starting with 'aws:' are reserved for AWS use.`},
			{"add to unknown ARN", func() error {
				_, err := e.sm.AddTags(e.ctx, &sagemaker.AddTagsInput{ResourceArn: aws.String(arn("endpoint", "nope")), Tags: tagList("a", "b")})
				return err
			}, "ValidationException", "Resource does not exist"},
			{"delete from unknown ARN", func() error {
				_, err := e.sm.DeleteTags(e.ctx, &sagemaker.DeleteTagsInput{ResourceArn: aws.String(arn("model", "nope")), TagKeys: []string{"a"}})
				return err
			}, "ValidationException", "Resource does not exist"},
			{"not an ARN", func() error {
				_, err := e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String("model/tagged")})
				return err
			}, "ValidationException", "1 validation error detected: Value 'model/tagged' at 'resourceArn' failed to satisfy constraint: ..."},
			{"no keys", func() error {
				_, err := e.sm.DeleteTags(e.ctx, &sagemaker.DeleteTagsInput{ResourceArn: aws.String(resources["model"]), TagKeys: []string{}})
				return err
			}, "ValidationException", "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.call(), tt.code, tt.msg) })
		}
	})
}

func sameWords(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// TestAccounts checks that with verified credentials each access key acts
// in its own account, and sees nothing of the others.
func TestAccounts(t *testing.T) {
	e := newEnv(t, map[string]api.Credential{
		"AKIDA": {SecretKey: "secret-a", Account: "111111111111"},
		"AKIDB": {SecretKey: "secret-b", Account: "222222222222"},
	})
	a := e.client(region, "AKIDA", "secret-a")
	b := e.client(region, "AKIDB", "secret-b")
	out, err := a.CreateModel(e.ctx, createModelInput("shared-name"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sagemaker:us-west-2:111111111111:model/shared-name"; aws.ToString(out.ModelArn) != want {
		t.Errorf("ModelArn = %s, want %s", aws.ToString(out.ModelArn), want)
	}
	_, err = b.DescribeModel(e.ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("shared-name")})
	wantErr(t, err, "ValidationException", `Could not find model "arn:aws:sagemaker:us-west-2:222222222222:model/shared-name".`)
	_, err = b.AddTags(e.ctx, &sagemaker.AddTagsInput{ResourceArn: out.ModelArn, Tags: tagList("x", "y")})
	wantErr(t, err, "ValidationException", "Resource does not exist")
	if _, err := b.CreateModel(e.ctx, createModelInput("shared-name")); err != nil {
		t.Errorf("same name in another account: %v", err)
	}
	if l, err := b.ListModels(e.ctx, &sagemaker.ListModelsInput{}); err != nil || len(l.Models) != 1 ||
		!strings.Contains(aws.ToString(l.Models[0].ModelArn), ":222222222222:") {
		t.Errorf("account B's models: %+v, %v", l, err)
	}
	_, err = e.client(region, "AKIDA", "wrong").ListModels(e.ctx, &sagemaker.ListModelsInput{})
	wantErr(t, err, "InvalidSignatureException", "The request signature we calculated does not match...")
}

// TestPersistence checks that everything survives closing the server and
// its database and opening them again.
func TestPersistence(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.sm.CreateModel(e.ctx, createModelInput("durable")); err != nil {
		t.Fatal(err)
	}
	createPackageGroup(t, e, "G")
	in := versionInput("G")
	in.ModelApprovalStatus = types.ModelApprovalStatusApproved
	if _, err := e.sm.CreateModelPackage(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	before, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("G/1")})
	if err != nil {
		t.Fatal(err)
	}

	e.restart()

	m, err := e.sm.DescribeModel(e.ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("durable")})
	if err != nil || m.PrimaryContainer == nil || m.PrimaryContainer.Environment["THREADS"] != "2" {
		t.Errorf("model after restart: %+v, %v", m, err)
	}
	after, err := e.sm.DescribeModelPackage(e.ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("G/1")})
	if err != nil {
		t.Fatal(err)
	}
	if after.ModelApprovalStatus != types.ModelApprovalStatusApproved || !aws.ToTime(after.CreationTime).Equal(aws.ToTime(before.CreationTime)) ||
		aws.ToString(after.InferenceSpecification.Containers[0].Image) != aws.ToString(before.InferenceSpecification.Containers[0].Image) {
		t.Errorf("package after restart: %+v", after)
	}
	if tags, err := e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(arn("model", "durable"))}); err != nil || tagString(tags.Tags) != "team=vision" {
		t.Errorf("tags after restart: %+v, %v", tags, err)
	}
	// The group's version counter survived too.
	out, err := e.sm.CreateModelPackage(e.ctx, versionInput("G"))
	if err != nil || aws.ToString(out.ModelPackageArn) != arn("model-package", "G/2") {
		t.Errorf("next version after restart: %v, %v", out, err)
	}
}

// TestOperations pins the operations this package registers.
func TestOperations(t *testing.T) {
	svc := (&sm.Service{}).NewAPI()
	want := []string{
		"AddTags", "CreateEndpoint", "CreateEndpointConfig", "CreateInferenceRecommendationsJob", "CreateModel", "CreateModelPackage", "CreateModelPackageGroup",
		"DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel", "DeleteModelPackage", "DeleteModelPackageGroup", "DeleteTags",
		"DescribeEndpoint", "DescribeEndpointConfig", "DescribeInferenceRecommendationsJob",
		"DescribeModel", "DescribeModelPackage", "DescribeModelPackageGroup", "GetScalingConfigurationRecommendation",
		"ListEndpointConfigs", "ListEndpoints", "ListInferenceRecommendationsJobSteps", "ListInferenceRecommendationsJobs", "ListModelPackageGroups", "ListModelPackages",
		"ListModels", "ListTags", "StopInferenceRecommendationsJob", "UpdateEndpoint", "UpdateEndpointWeightsAndCapacities", "UpdateModelPackage",
	}
	if got := svc.Operations(); !slices.Equal(got, want) {
		t.Errorf("operations %v\nwant %v", got, want)
	}
}
