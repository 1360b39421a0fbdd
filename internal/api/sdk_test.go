package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

// fixedNow is the router clock in SDK tests; the SDK signs with the real
// clock, so tests that verify signatures use a clock near time.Now instead.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 123_000_000, time.UTC)

// sdkClient returns a real SageMaker client for the server at url.
func sdkClient(url, region, accessKey, secret string) *sagemaker.Client {
	cfg := aws.Config{
		Region: region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret, Source: "test"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
	return sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) {
		o.BaseEndpoint = aws.String(url)
	})
}

func validCreate(name string) *sagemaker.CreateInferenceRecommendationsJobInput {
	return &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName: aws.String(name),
		JobType: types.RecommendationJobTypeDefault,
		RoleArn: aws.String("arn:aws:iam::123456789012:role/inferscale"),
		InputConfig: &types.RecommendationJobInputConfig{
			ModelName:            aws.String("resnet"),
			JobDurationInSeconds: aws.Int32(3600),
			EndpointConfigurations: []types.EndpointInputConfiguration{
				{InstanceType: types.ProductionVariantInstanceTypeMlC5Xlarge},
				{InstanceType: types.ProductionVariantInstanceTypeMlM5Large},
			},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
	}
}

func apiError(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a smithy.APIError", err, err)
	}
	return ae
}

// TestSageMakerSDK drives the adapter with the real aws-sdk-go-v2 SageMaker
// client over loopback HTTP.
func TestSageMakerSDK(t *testing.T) {
	svc, jobs := newJobsService()
	var logs bytes.Buffer
	rt := &Router{
		Now:    func() time.Time { return fixedNow },
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Auth: ScopeAuth{Account: func(key string) string {
			if key == "AKIDTEAMB" {
				return "210987654321"
			}
			return ""
		}},
	}
	if err := rt.Add(svc); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := sdkClient(srv.URL, "us-west-2", "AKIDTEAMB", "secret")

	t.Run("create and describe", func(t *testing.T) {
		out, err := client.CreateInferenceRecommendationsJob(ctx, validCreate("job-1"))
		if err != nil {
			t.Fatal(err)
		}
		wantArn := "arn:aws:sagemaker:us-west-2:210987654321:inference-recommendations-job/job-1"
		if aws.ToString(out.JobArn) != wantArn {
			t.Errorf("JobArn = %s, want %s (region from the signing scope, account from the key)", aws.ToString(out.JobArn), wantArn)
		}
		if got := jobs.seen; got.InputConfig.JobDurationInSeconds == nil || *got.InputConfig.JobDurationInSeconds != 3600 ||
			len(got.InputConfig.EndpointConfigurations) != 2 || got.InputConfig.EndpointConfigurations[1].InstanceType != "ml.m5.large" ||
			len(got.Tags) != 1 || got.Tags[0] != (tag{"team", "ml"}) {
			t.Errorf("handler saw %+v", got)
		}
		d, err := client.DescribeInferenceRecommendationsJob(ctx, &sagemaker.DescribeInferenceRecommendationsJobInput{JobName: aws.String("job-1")})
		if err != nil {
			t.Fatal(err)
		}
		if !aws.ToTime(d.CreationTime).Equal(fixedNow) {
			t.Errorf("CreationTime = %v, want %v", aws.ToTime(d.CreationTime), fixedNow)
		}
		if want := fixedNow.Add(90 * time.Minute); !aws.ToTime(d.CompletionTime).Equal(want) || !aws.ToTime(d.LastModifiedTime).Equal(want) {
			t.Errorf("CompletionTime %v / LastModifiedTime %v, want %v", d.CompletionTime, d.LastModifiedTime, want)
		}
		if d.Status != types.RecommendationJobStatusCompleted || d.JobType != types.RecommendationJobTypeDefault || aws.ToString(d.JobArn) != wantArn {
			t.Errorf("describe = %+v", d)
		}
		if len(d.InferenceRecommendations) != 1 {
			t.Fatalf("InferenceRecommendations = %+v", d.InferenceRecommendations)
		}
		r := d.InferenceRecommendations[0]
		if aws.ToFloat32(r.Metrics.CostPerHour) != 0.23 || aws.ToInt32(r.Metrics.MaxInvocations) != 1840 ||
			r.EndpointConfiguration.InstanceType != types.ProductionVariantInstanceTypeMlC5Xlarge ||
			!aws.ToTime(r.InvocationStartTime).Equal(fixedNow.Add(time.Minute)) {
			t.Errorf("recommendation = %+v metrics %+v", r, r.Metrics)
		}
		if d.InputConfig == nil || aws.ToString(d.InputConfig.ModelName) != "resnet" {
			t.Errorf("InputConfig = %+v", d.InputConfig)
		}
	})

	t.Run("validation error", func(t *testing.T) {
		in := validCreate("bad_name")
		in.InputConfig.EndpointConfigurations[1].InstanceType = "ml.nope"
		_, err := client.CreateInferenceRecommendationsJob(ctx, in)
		ae := apiError(t, err)
		if ae.ErrorCode() != "ValidationException" {
			t.Errorf("code = %s", ae.ErrorCode())
		}
		wantStart := "2 validation errors detected: Value 'bad_name' at 'jobName' failed to satisfy constraint: " +
			"Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}; " +
			"Value 'ml.nope' at 'inputConfig.endpointConfigurations.2.member.instanceType' failed to satisfy constraint: " +
			"Member must satisfy enum value set: [ml.t2.medium,"
		if !strings.HasPrefix(ae.ErrorMessage(), wantStart) {
			t.Errorf("message = %s\nwant prefix %s", ae.ErrorMessage(), wantStart)
		}
	})

	t.Run("typed errors", func(t *testing.T) {
		_, err := client.DescribeInferenceRecommendationsJob(ctx, &sagemaker.DescribeInferenceRecommendationsJobInput{JobName: aws.String("missing")})
		var nf *types.ResourceNotFound
		if !errors.As(err, &nf) || nf.ErrorMessage() != "Could not find job." {
			t.Errorf("describe missing: %v, want *types.ResourceNotFound", err)
		}
		_, err = client.CreateInferenceRecommendationsJob(ctx, validCreate("job-1"))
		var inUse *types.ResourceInUse
		if !errors.As(err, &inUse) || inUse.ErrorMessage() != "Job job-1 already exists." {
			t.Errorf("create twice: %v, want *types.ResourceInUse", err)
		}
		_, err = client.DeleteInferenceComponent(ctx, &sagemaker.DeleteInferenceComponentInput{InferenceComponentName: aws.String("limit")})
		if ae := apiError(t, err); ae.ErrorCode() != "ResourceLimitExceeded" {
			t.Errorf("limit: code %s", ae.ErrorCode())
		}
		_, err = client.DeleteInferenceComponent(ctx, &sagemaker.DeleteInferenceComponentInput{InferenceComponentName: aws.String("boom")})
		ae := apiError(t, err)
		if ae.ErrorCode() != "InternalFailure" || ae.ErrorMessage() != "An internal error occurred." {
			t.Errorf("internal: %s %q", ae.ErrorCode(), ae.ErrorMessage())
		}
		if !strings.Contains(logs.String(), "disk on fire") || !strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("internal error not logged with its cause:\n%s", logs.String())
		}
	})

	t.Run("unknown operation", func(t *testing.T) {
		_, err := client.ListModels(ctx, &sagemaker.ListModelsInput{})
		ae := apiError(t, err)
		if ae.ErrorCode() != "UnknownOperationException" || ae.ErrorMessage() != "SageMaker operation ListModels is not implemented by inferscale." {
			t.Errorf("got %s: %s", ae.ErrorCode(), ae.ErrorMessage())
		}
	})

	t.Run("region from the signing scope", func(t *testing.T) {
		eu := sdkClient(srv.URL, "eu-central-1", "AKIDOTHER", "secret")
		out, err := eu.CreateInferenceRecommendationsJob(ctx, validCreate("job-eu"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(aws.ToString(out.JobArn), "arn:aws:sagemaker:eu-central-1:123456789012:") {
			t.Errorf("JobArn = %s", aws.ToString(out.JobArn))
		}
		jobs.mu.Lock()
		last := jobs.regions[len(jobs.regions)-1]
		jobs.mu.Unlock()
		if last != "eu-central-1" {
			t.Errorf("handler saw region %s", last)
		}
	})
}

// TestSageMakerSDKSigV4 verifies signatures made by the SDK's own signer.
func TestSageMakerSDKSigV4(t *testing.T) {
	svc, _ := newJobsService()
	var skew atomic.Int64 // server clock offset, set per case
	rt := &Router{
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
		Auth: SigV4Auth{Lookup: StaticCredentials(map[string]Credential{
			"AKIDGOOD": {SecretKey: "good-secret", Account: "111122223333"},
		})},
	}
	if err := rt.Add(svc); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tests := []struct {
		name, key, secret string
		skew              time.Duration
		code, msgPrefix   string
	}{
		{name: "valid", key: "AKIDGOOD", secret: "good-secret"},
		{name: "unknown key", key: "AKIDNOBODY", secret: "x", code: "UnrecognizedClientException", msgPrefix: "The security token included in the request is invalid."},
		{name: "wrong secret", key: "AKIDGOOD", secret: "bad-secret", code: "InvalidSignatureException", msgPrefix: "The request signature we calculated does not match"},
		{name: "expired", key: "AKIDGOOD", secret: "good-secret", skew: 10 * time.Minute, code: "InvalidSignatureException", msgPrefix: "Signature expired: "},
		{name: "not yet valid", key: "AKIDGOOD", secret: "good-secret", skew: -10 * time.Minute, code: "InvalidSignatureException", msgPrefix: "Signature not yet current: "},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skew.Store(int64(tt.skew))
			client := sdkClient(srv.URL, "ap-south-1", tt.key, tt.secret)
			out, err := client.CreateInferenceRecommendationsJob(ctx, validCreate("signed-"+string(rune('a'+i))))
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := "arn:aws:sagemaker:ap-south-1:111122223333:"; !strings.HasPrefix(aws.ToString(out.JobArn), want) {
					t.Errorf("JobArn = %s, want prefix %s", aws.ToString(out.JobArn), want)
				}
				return
			}
			ae := apiError(t, err)
			if ae.ErrorCode() != tt.code || !strings.HasPrefix(ae.ErrorMessage(), tt.msgPrefix) {
				t.Errorf("got %s: %s; want %s: %s...", ae.ErrorCode(), ae.ErrorMessage(), tt.code, tt.msgPrefix)
			}
		})
	}
}
