package sagemaker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

func createModelInput(name string) *sagemaker.CreateModelInput {
	return &sagemaker.CreateModelInput{
		ModelName:        aws.String(name),
		ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &types.ContainerDefinition{
			Image:        aws.String("123456789012.dkr.ecr.us-west-2.amazonaws.com/resnet:1"),
			ModelDataUrl: aws.String("s3://models/resnet/model.tar.gz"),
			Environment:  map[string]string{"SAGEMAKER_PROGRAM": "inference.py", "THREADS": "2"},
			ImageConfig:  &types.ImageConfig{RepositoryAccessMode: types.RepositoryAccessModeVpc},
		},
		VpcConfig: &types.VpcConfig{SecurityGroupIds: []string{"sg-1"}, Subnets: []string{"subnet-1", "subnet-2"}},
		Tags:      []types.Tag{{Key: aws.String("team"), Value: aws.String("vision")}},
	}
}

func TestModelLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	created := e.clock.Now()
	out, err := e.sm.CreateModel(e.ctx, createModelInput("ResNet-50"))
	if err != nil {
		t.Fatal(err)
	}
	// SageMaker lowercases model names in ARNs.
	wantARN := arn("model", "resnet-50")
	if aws.ToString(out.ModelArn) != wantARN {
		t.Errorf("ModelArn = %s, want %s", aws.ToString(out.ModelArn), wantARN)
	}

	// Names are found in any case, and keep the case they were created with.
	for _, name := range []string{"ResNet-50", "resnet-50", "RESNET-50"} {
		d, err := e.sm.DescribeModel(e.ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		pc := d.PrimaryContainer
		if aws.ToString(d.ModelName) != "ResNet-50" || aws.ToString(d.ModelArn) != wantARN ||
			aws.ToString(d.ExecutionRoleArn) != role || !aws.ToTime(d.CreationTime).Equal(created) ||
			pc == nil || aws.ToString(pc.Image) != "123456789012.dkr.ecr.us-west-2.amazonaws.com/resnet:1" ||
			aws.ToString(pc.ModelDataUrl) != "s3://models/resnet/model.tar.gz" ||
			pc.Environment["THREADS"] != "2" || len(pc.Environment) != 2 ||
			pc.Mode != types.ContainerModeSingleModel || // SageMaker's default
			pc.ImageConfig == nil || pc.ImageConfig.RepositoryAccessMode != types.RepositoryAccessModeVpc ||
			d.VpcConfig == nil || !slices.Equal(d.VpcConfig.Subnets, []string{"subnet-1", "subnet-2"}) ||
			aws.ToBool(d.EnableNetworkIsolation) {
			t.Errorf("DescribeModel(%s) = %+v, container %+v", name, d, pc)
		}
	}

	tags, err := e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(wantARN)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "vision" {
		t.Errorf("tags = %+v, %v", tags, err)
	}

	// Creating it again, in any case, is a ValidationException naming the ARN.
	for _, name := range []string{"ResNet-50", "resnet-50"} {
		_, err = e.sm.CreateModel(e.ctx, createModelInput(name))
		wantErr(t, err, "ValidationException", `Cannot create already existing model "`+wantARN+`".`)
	}

	if _, err := e.sm.DeleteModel(e.ctx, &sagemaker.DeleteModelInput{ModelName: aws.String("resnet-50")}); err != nil {
		t.Fatal(err)
	}
	missing := `Could not find model "` + wantARN + `".`
	_, err = e.sm.DescribeModel(e.ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("ResNet-50")})
	wantErr(t, err, "ValidationException", missing)
	_, err = e.sm.DeleteModel(e.ctx, &sagemaker.DeleteModelInput{ModelName: aws.String("ResNet-50")})
	wantErr(t, err, "ValidationException", missing)
	// Its tags went with it.
	_, err = e.sm.ListTags(e.ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(wantARN)})
	wantErr(t, err, "ValidationException", "Resource does not exist")
}

func TestCreateModelErrors(t *testing.T) {
	e := newEnv(t, nil)
	pkg := createPackageGroup(t, e, "pkg-group")
	if _, err := e.sm.CreateModelPackage(e.ctx, versionInput(pkg)); err != nil {
		t.Fatal(err)
	}
	container := func(mod func(c *types.ContainerDefinition)) *types.ContainerDefinition {
		c := &types.ContainerDefinition{Image: aws.String("img:1")}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name string
		in   sagemaker.CreateModelInput
		code string
		msg  string
	}{
		{"bad name", sagemaker.CreateModelInput{ModelName: aws.String("bad_name"), PrimaryContainer: container(nil)}, "ValidationException",
			"1 validation error detected: Value 'bad_name' at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern: ..."},
		{"bad role and mode", sagemaker.CreateModelInput{ModelName: aws.String("m"), ExecutionRoleArn: aws.String("not-a-role-arn-at-all"),
			PrimaryContainer: container(func(c *types.ContainerDefinition) { c.Mode = "Sometimes" })}, "ValidationException",
			"2 validation errors detected: Value 'Sometimes' at 'primaryContainer.mode' failed to satisfy constraint: Member must satisfy enum value set: [SingleModel, MultiModel]; " +
				"Value 'not-a-role-arn-at-all' at 'executionRoleArn' failed to satisfy constraint: ..."},
		{"no container", sagemaker.CreateModelInput{ModelName: aws.String("m")}, "ValidationException", "Either PrimaryContainer or Containers must be specified."},
		{"both", sagemaker.CreateModelInput{ModelName: aws.String("m"), PrimaryContainer: container(nil), Containers: []types.ContainerDefinition{*container(nil)}},
			"ValidationException", "PrimaryContainer and Containers cannot both be specified."},
		{"no image", sagemaker.CreateModelInput{ModelName: aws.String("m"), Containers: []types.ContainerDefinition{*container(nil), {}}},
			"ValidationException", "A container must specify either Image or ModelPackageName."},
		{"missing package", sagemaker.CreateModelInput{ModelName: aws.String("m"), PrimaryContainer: &types.ContainerDefinition{ModelPackageName: aws.String("pkg-group/2")}},
			"ValidationException", "ModelPackage " + arn("model-package", "pkg-group/2") + " does not exist."},
		{"package of another region", sagemaker.CreateModelInput{ModelName: aws.String("m"),
			PrimaryContainer: &types.ContainerDefinition{ModelPackageName: aws.String("arn:aws:sagemaker:eu-west-1:123456789012:model-package/pkg-group/1")}},
			"ValidationException", "ARN should be scoped to correct region: us-west-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.sm.CreateModel(e.ctx, &tt.in)
			wantErr(t, err, tt.code, tt.msg)
		})
	}

	// A model from a package version, and a multi-container model.
	if _, err := e.sm.CreateModel(e.ctx, &sagemaker.CreateModelInput{ModelName: aws.String("from-package"),
		PrimaryContainer: &types.ContainerDefinition{ModelPackageName: aws.String(arn("model-package", "pkg-group/1"))}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.sm.CreateModel(e.ctx, &sagemaker.CreateModelInput{ModelName: aws.String("pipeline"),
		Containers:               []types.ContainerDefinition{*container(nil), *container(func(c *types.ContainerDefinition) { c.Mode = types.ContainerModeMultiModel })},
		InferenceExecutionConfig: &types.InferenceExecutionConfig{Mode: types.InferenceExecutionModeDirect}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.sm.DescribeModel(e.ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("pipeline")})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Containers) != 2 || d.Containers[0].Mode != types.ContainerModeSingleModel || d.Containers[1].Mode != types.ContainerModeMultiModel ||
		d.PrimaryContainer != nil || d.InferenceExecutionConfig.Mode != types.InferenceExecutionModeDirect {
		t.Errorf("pipeline model = %+v", d)
	}
}

// modelNames lists every page of ListModels and returns the names and the
// number of pages.
func modelNames(t *testing.T, e *env, in sagemaker.ListModelsInput) ([]string, int) {
	t.Helper()
	var names []string
	pages := 0
	p := sagemaker.NewListModelsPaginator(e.sm, &in)
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range out.Models {
			names = append(names, aws.ToString(m.ModelName))
		}
	}
	return names, pages
}

func TestListModels(t *testing.T) {
	e := newEnv(t, nil)
	start := e.clock.Now()
	// 25 models created a second apart, names not in creation order.
	var byTime []string
	for i := range 25 {
		name := fmt.Sprintf("model-%02d", (i*7)%25)
		if _, err := e.sm.CreateModel(e.ctx, createModelInput(name)); err != nil {
			t.Fatal(err)
		}
		byTime = append(byTime, name)
		e.clock.Advance(time.Second)
	}
	byName := slices.Sorted(slices.Values(byTime))
	reversed := func(s []string) []string { r := slices.Clone(s); slices.Reverse(r); return r }
	at := func(i int) *time.Time { t := start.Add(time.Duration(i) * time.Second); return &t }

	tests := []struct {
		name  string
		in    sagemaker.ListModelsInput
		want  []string
		pages int
	}{
		// SageMaker's defaults: newest first, 10 a page.
		{"defaults", sagemaker.ListModelsInput{}, reversed(byTime), 3},
		{"creation time ascending", sagemaker.ListModelsInput{SortOrder: types.OrderKeyAscending, MaxResults: aws.Int32(100)}, byTime, 1},
		{"name ascending", sagemaker.ListModelsInput{SortBy: types.ModelSortKeyName, SortOrder: types.OrderKeyAscending, MaxResults: aws.Int32(7)}, byName, 4},
		{"name descending", sagemaker.ListModelsInput{SortBy: types.ModelSortKeyName, MaxResults: aws.Int32(1)}, reversed(byName), 25},
		{"name contains", sagemaker.ListModelsInput{NameContains: aws.String("el-1"), SortBy: types.ModelSortKeyName, SortOrder: types.OrderKeyAscending},
			[]string{"model-10", "model-11", "model-12", "model-13", "model-14", "model-15", "model-16", "model-17", "model-18", "model-19"}, 1},
		// After is inclusive, before exclusive.
		{"creation time range", sagemaker.ListModelsInput{CreationTimeAfter: at(3), CreationTimeBefore: at(6), SortOrder: types.OrderKeyAscending},
			byTime[3:6], 1},
		{"nothing", sagemaker.ListModelsInput{NameContains: aws.String("nope")}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := modelNames(t, e, tt.in)
			if !slices.Equal(got, tt.want) || pages != tt.pages {
				t.Errorf("got %d pages %v\nwant %d pages %v", pages, got, tt.pages, tt.want)
			}
		})
	}

	t.Run("summaries", func(t *testing.T) {
		out, err := e.sm.ListModels(e.ctx, &sagemaker.ListModelsInput{MaxResults: aws.Int32(1), SortOrder: types.OrderKeyAscending})
		if err != nil {
			t.Fatal(err)
		}
		m := out.Models[0]
		if aws.ToString(m.ModelName) != byTime[0] || aws.ToString(m.ModelArn) != arn("model", byTime[0]) || !aws.ToTime(m.CreationTime).Equal(start) {
			t.Errorf("summary %+v", m)
		}
	})

	t.Run("errors", func(t *testing.T) {
		first, err := e.sm.ListModels(e.ctx, &sagemaker.ListModelsInput{MaxResults: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			in   sagemaker.ListModelsInput
			msg  string
		}{
			{"max results too large", sagemaker.ListModelsInput{MaxResults: aws.Int32(101)},
				"1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
			{"bad sort key", sagemaker.ListModelsInput{SortBy: "Size"},
				"1 validation error detected: Value 'Size' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime]"},
			{"garbage token", sagemaker.ListModelsInput{NextToken: aws.String("garbage")}, "The NextToken is not valid."},
			{"token of another order", sagemaker.ListModelsInput{NextToken: first.NextToken, SortBy: types.ModelSortKeyName}, "The NextToken is not valid."},
		}
		for _, tt := range tests {
			_, err := e.sm.ListModels(e.ctx, &tt.in)
			wantErr(t, err, "ValidationException", tt.msg)
		}
	})

	t.Run("regions are separate", func(t *testing.T) {
		eu := e.client("eu-west-1", "AKIDTEST", "secret")
		out, err := eu.ListModels(e.ctx, &sagemaker.ListModelsInput{})
		if err != nil || len(out.Models) != 0 {
			t.Errorf("eu-west-1 models: %+v, %v", out, err)
		}
		if _, err := eu.CreateModel(e.ctx, createModelInput(byTime[0])); err != nil {
			t.Errorf("same name in another region: %v", err)
		}
		if d, err := eu.DescribeModel(e.ctx, &sagemaker.DescribeModelInput{ModelName: aws.String(byTime[0])}); err != nil ||
			!strings.HasPrefix(aws.ToString(d.ModelArn), "arn:aws:sagemaker:eu-west-1:") {
			t.Errorf("describe in eu-west-1: %+v, %v", d, err)
		}
	})
}
