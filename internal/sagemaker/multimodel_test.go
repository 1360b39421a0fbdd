package sagemaker_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"

	"github.com/inferscale/inferscale/internal/hosting"
	"github.com/inferscale/inferscale/internal/metrics"
	"github.com/inferscale/inferscale/internal/modelserver/mlp"
	sm "github.com/inferscale/inferscale/internal/sagemaker"
)

// writeModels writes MLP artifacts under a new directory: "a/" a directory
// holding model.json, and "b.tar.gz" and "c.tar.gz" archives, of 2, 3 and
// 4 inputs; "empty/" is a directory without weights. It returns the
// directory.
func writeModels(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	weights := func(seed int64, inputs int) string {
		n, err := mlp.Generate(seed, []int{inputs, 16, 3})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := n.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "model.json"), []byte(weights(1, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTarGz(t, filepath.Join(dir, "b.tar.gz"), map[string]string{"model.json": weights(2, 3)})
	writeTarGz(t, filepath.Join(dir, "c.tar.gz"), map[string]string{"model.json": weights(3, 4)})
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// instanceURL finds the model server marked with marker and returns its
// base URL, from the port the backend gave it.
func instanceURL(t *testing.T, marker string) string {
	t.Helper()
	ps := procsWithEnv(t, "INFERSCALE_TEST_MARKER="+marker)
	if len(ps) != 1 {
		t.Fatalf("%d model servers marked %s, want 1", len(ps), marker)
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", ps[0].pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		if port, ok := strings.CutPrefix(kv, "SAGEMAKER_BIND_TO_PORT="); ok {
			return "http://127.0.0.1:" + port
		}
	}
	t.Fatal("no SAGEMAKER_BIND_TO_PORT in the model server's environment")
	return ""
}

// loadedModels lists the models the instance has loaded, by GET /models.
func loadedModels(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Models []struct {
			ModelURL string `json:"modelUrl"`
		} `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range l.Models {
		out = append(out, m.ModelURL)
	}
	return out
}

// TestMultiModelEndpoint deploys the sample model server in multi-model
// mode with room for two models, invokes three models by TargetModel,
// checks loads, cache hits and the least recently used model's unload in
// the container and in the metrics, the errors SageMaker answers, and the
// per-instance metrics under a short load.
func TestMultiModelEndpoint(t *testing.T) {
	t.Parallel()
	e := newHostEnv(t, func(o *hosting.Options) {
		o.StatsPeriod, o.ConcurrencySampleInterval = time.Second, 50*time.Millisecond
	})
	ctx := e.ctx
	models := writeModels(t)
	marker := fmt.Sprintf("mme-%d", time.Now().UnixNano())

	// The prefix is checked when an endpoint is created.
	createTests := []struct {
		name, url, msg string
	}{
		{"no prefix", "", "A container of Mode MultiModel needs a ModelDataUrl..."},
		{"missing directory", "file://" + models + "/nope/", `ModelDataUrl "file://` + models + `/nope/" of a MultiModel container must be a prefix of model artifacts...`},
		{"s3", "s3://bucket/models/", `ModelDataUrl "s3://bucket/models/": this server has no S3 endpoint...`},
	}
	for i, tt := range createTests {
		t.Run("CreateEndpoint "+tt.name, func(t *testing.T) {
			name := fmt.Sprintf("bad-%d", i)
			c := &types.ContainerDefinition{Image: aws.String(sm.SampleModelImage), Mode: types.ContainerModeMultiModel}
			if tt.url != "" {
				c.ModelDataUrl = aws.String(tt.url)
			}
			if _, err := e.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(name), ExecutionRoleArn: aws.String(role), PrimaryContainer: c}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
				EndpointConfigName: aws.String(name), ProductionVariants: []types.ProductionVariant{variant("all", name, 1, 1)},
			}); err != nil {
				t.Fatal(err)
			}
			_, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(name)})
			wantErr(t, err, "ValidationException", tt.msg)
		})
	}

	if _, err := e.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName: aws.String("mme"), ExecutionRoleArn: aws.String(role),
		PrimaryContainer: &types.ContainerDefinition{
			Image: aws.String(sm.SampleModelImage), Mode: types.ContainerModeMultiModel, ModelDataUrl: aws.String("file://" + models + "/"),
			Environment: map[string]string{"INFERSCALE_MAX_MODELS": "2", "INFERSCALE_TEST_MARKER": marker},
		},
	}); err != nil {
		t.Fatal(err)
	}
	d, err := e.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("mme")})
	if err != nil || d.PrimaryContainer.Mode != types.ContainerModeMultiModel {
		t.Fatalf("DescribeModel: %v %+v", err, d)
	}
	if _, err := e.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String("mme"), ProductionVariants: []types.ProductionVariant{variant("all", "mme", 1, 1)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("mme"), EndpointConfigName: aws.String("mme")}); err != nil {
		t.Fatal(err)
	}
	e.waitInService("mme")
	url := instanceURL(t, marker)
	// target names the model a container loaded from path: a directory
	// under the prefix, or an archive extracted into a directory named
	// after a digest of the target model.
	target := func(path string) string {
		if rel, ok := strings.CutPrefix(path, models+"/"); ok {
			return rel + "/"
		}
		for _, tg := range []string{"b.tar.gz", "c.tar.gz"} {
			sum := sha256.Sum256([]byte(tg))
			if strings.HasSuffix(path, "/"+hex.EncodeToString(sum[:12])+"/model") {
				return tg
			}
		}
		return path
	}

	invoke := func(target string, inputs int) (*sagemakerruntime.InvokeEndpointOutput, error) {
		x := make([]string, inputs)
		for i := range x {
			x[i] = fmt.Sprint(0.5 * float64(i+1))
		}
		return e.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
			EndpointName: aws.String("mme"), TargetModel: aws.String(target), ContentType: aws.String("text/csv"),
			Body: []byte(strings.Join(x, ",")),
		})
	}
	steps := []struct {
		target string
		inputs int
		loaded []string // targets loaded on the instance afterwards
	}{
		{"a/", 2, []string{"a/"}},
		{"b.tar.gz", 3, []string{"a/", "b.tar.gz"}},
		{"a/", 2, []string{"a/", "b.tar.gz"}},
		{"c.tar.gz", 4, []string{"a/", "c.tar.gz"}}, // b is the least recently used
		{"c.tar.gz", 4, []string{"a/", "c.tar.gz"}},
		{"b.tar.gz", 3, []string{"b.tar.gz", "c.tar.gz"}}, // then a
	}
	for i, st := range steps {
		out, err := invoke(st.target, st.inputs)
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, st.target, err)
		}
		var r struct {
			Predictions []struct{ Probabilities []float64 } `json:"predictions"`
		}
		if err := json.Unmarshal(out.Body, &r); err != nil || len(r.Predictions) != 1 || len(r.Predictions[0].Probabilities) != 3 {
			t.Errorf("step %d (%s): answer %s", i, st.target, out.Body)
		}
		if aws.ToString(out.InvokedProductionVariant) != "all" {
			t.Errorf("step %d: variant %q", i, aws.ToString(out.InvokedProductionVariant))
		}
		var got []string
		for _, u := range loadedModels(t, url) {
			got = append(got, target(u))
		}
		slices.Sort(got)
		if want := st.loaded; !slices.Equal(got, want) {
			t.Errorf("step %d (%s): instance has %v, want %v", i, st.target, got, want)
		}
	}

	errTests := []struct {
		name, target, body, code, msg string
	}{
		{"no target model", "", "1,2", "ValidationError", "Request ... is missing a target model header..."},
		{"unknown target model", "nope.tar.gz", "1,2", "ValidationError",
			"Failed to download model data(url: file://" + models + "/nope.tar.gz, target model: nope.tar.gz). Please ensure that there is an object located at the URL."},
		{"target model outside the prefix", "../x.tar.gz", "1,2", "ValidationError", `TargetModel "../x.tar.gz" must be a path relative to the model prefix, without "..".`},
		{"artifact without weights", "empty/", "1,2", "ModelError", "Received client error (400) from all with message..."},
		{"payload of the wrong width", "b.tar.gz", "1,2", "ModelError", "Received client error (400) from all with message..."},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("mme"), ContentType: aws.String("text/csv"), Body: []byte(tt.body)}
			if tt.target != "" {
				in.TargetModel = aws.String(tt.target)
			}
			_, err := e.rt.InvokeEndpoint(ctx, in)
			if strings.HasPrefix(tt.msg, "Request ...") {
				wantErrContaining(t, err, tt.code, "Request ", "is missing a target model header")
				return
			}
			wantErr(t, err, tt.code, tt.msg)
			var me *rttypes.ModelError
			if tt.code == "ModelError" && (!errors.As(err, &me) || aws.ToInt32(me.OriginalStatusCode) != 400) {
				t.Errorf("ModelError %+v", me)
			}
		})
	}

	// The multi-model metrics. The steps: 4 misses (4 loads, among them b's
	// reload, which reuses its extraction: 2 extractions) and 2 hits, 2
	// unloads. Then the load of empty/ unloads c to make room before it
	// fails, and the payload of the wrong width is a hit on b.
	dims := []metrics.Dimension{{Name: "EndpointName", Value: "mme"}, {Name: "VariantName", Value: "all"}}
	stat := func(ns, name string) *metrics.Datapoint {
		t.Helper()
		dps, err := e.metrics().Query(metrics.Query{Namespace: ns, MetricName: name, Dimensions: dims,
			Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), Period: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if len(dps) != 1 {
			return nil
		}
		return &dps[0]
	}
	countTests := []struct {
		name       string
		count, sum float64 // sum < 0: not checked
	}{
		{"ModelCacheHit", 7, 3}, // requests that reached the instance
		{"ModelLoadingTime", 4, -1},
		{"ModelUnloadingTime", 3, -1},
		{"ModelDownloadingTime", 2, -1},
	}
	for _, tt := range countTests {
		dp := stat("AWS/SageMaker", tt.name)
		if dp == nil || dp.SampleCount != tt.count || (tt.sum >= 0 && dp.Sum != tt.sum) || dp.Minimum < 0 {
			t.Errorf("%s: %+v, want %v samples summing to %v", tt.name, dp, tt.count, tt.sum)
		}
	}
	for _, name := range []string{"ModelLoadingTime", "ModelLoadingWaitTime", "ModelDownloadingTime", "ModelUnloadingTime"} {
		if dp := stat("AWS/SageMaker", name); dp != nil {
			t.Logf("%s: average %.0f µs, maximum %.0f µs over %v samples", name, dp.Average, dp.Maximum, dp.SampleCount)
		}
	}
	// Every miss waited for its load; failed loads may add their waits.
	if dp := stat("AWS/SageMaker", "ModelLoadingWaitTime"); dp == nil || dp.SampleCount < 4 || dp.Minimum <= 0 {
		t.Errorf("ModelLoadingWaitTime %+v, want at least 4 positive samples", dp)
	}

	// A bounded load of 2 clients for 1.5 s: the instance metrics show it.
	var wg sync.WaitGroup
	stop := time.Now().Add(1500 * time.Millisecond)
	for range 2 {
		wg.Go(func() {
			for n := 0; n < 2000 && time.Now().Before(stop); n++ {
				if _, err := invoke("c.tar.gz", 4); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, 10*time.Second, func() bool {
		dp := stat("AWS/SageMaker", "ConcurrentRequestsPerModel")
		return dp != nil && dp.Maximum > 0 && dp.Minimum == 0 // busy during the load, idle after
	})
	cpus := 1.0 // ml.c8g.medium
	utilTests := []struct {
		name   string
		lo, hi float64 // bounds of the maximum
	}{
		{"CPUUtilization", 1, cpus*100 + 10}, // summed over vCPUs; 10 points of measurement slack
		{"MemoryUtilization", 0.01, 100},
		{"DiskUtilization", 0.01, 100},
	}
	for _, tt := range utilTests {
		dp := stat("/aws/sagemaker/Endpoints", tt.name)
		if dp == nil || dp.Maximum < tt.lo || dp.Maximum > tt.hi || dp.Minimum < 0 || math.IsNaN(dp.Average) {
			t.Errorf("%s: %+v, want a maximum in [%v, %v]", tt.name, dp, tt.lo, tt.hi)
		} else {
			t.Logf("%s: average %.1f%%, maximum %.1f%% over %v samples", tt.name, dp.Average, dp.Maximum, dp.SampleCount)
		}
	}
	if dp := stat("AWS/SageMaker", "ConcurrentRequestsPerModel"); dp != nil {
		t.Logf("ConcurrentRequestsPerModel: average %.2f, maximum %.2f over %v samples", dp.Average, dp.Maximum, dp.SampleCount)
	}
}
