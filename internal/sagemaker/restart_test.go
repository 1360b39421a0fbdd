package sagemaker_test

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	sm "github.com/inferscale/inferscale/internal/sagemaker"
)

// serveProcess is the built `inferscale serve` running as a child.
type serveProcess struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan struct{} // closed when the process has been waited for
}

func (p *serveProcess) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *serveProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startServe runs `inferscale serve` with quick benchmarks on a free
// loopback port.
func startServe(t *testing.T, bin, dataDir string) *serveProcess {
	t.Helper()
	p := &serveProcess{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0",
		"--warmup", "1s", "--level-duration", "2s", "--confirm-duration", "3s", "-v")
	p.cmd.Stderr = p
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.exited:
		t.Fatalf("serve exited before listening: %s", p.log())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not print its address within 20 s")
	}
	return p
}

// TestKillAndResume kills `inferscale serve` with SIGKILL while a job runs:
// no model server outlives it (parent-death signal), and the server started
// again on the same data directory has everything created before and
// finishes the job.
func TestKillAndResume(t *testing.T) {
	t.Parallel()
	bin := inferscaleBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := filepath.Join(t.TempDir(), "state")
	payloads := writeTarGz(t, filepath.Join(t.TempDir(), "payloads.tar.gz"), payloadFiles)

	p := startServe(t, bin, data)
	c := sdkClient(p.url)
	pkg, err := c.CreateModelPackage(ctx, &sagemaker.CreateModelPackageInput{
		ModelPackageName: aws.String("survivor"),
		SamplePayloadUrl: aws.String("file://" + payloads),
		InferenceSpecification: &types.InferenceSpecification{
			Containers: []types.ModelPackageContainerDefinition{{Image: aws.String(sm.SampleModelImage),
				Environment: referenceEnv("2", "20ms", "kill-job")}},
			SupportedContentTypes: []string{"application/json"}, SupportedResponseMIMETypes: []string{"application/json"},
			SupportedRealtimeInferenceInstanceTypes: []types.ProductionVariantInstanceType{c8g},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two benchmarks; the server is killed during the second.
	_, err = c.CreateInferenceRecommendationsJob(ctx, &sagemaker.CreateInferenceRecommendationsJobInput{
		JobName: aws.String("survivor-job"), JobType: types.RecommendationJobTypeAdvanced, RoleArn: aws.String(jobRole),
		InputConfig: &types.RecommendationJobInputConfig{
			ModelPackageVersionArn: pkg.ModelPackageArn,
			EndpointConfigurations: []types.EndpointInputConfiguration{{InstanceType: c8g}, {InstanceType: m8g}},
			TrafficPattern: &types.TrafficPattern{TrafficType: types.TrafficTypePhases, Phases: []types.Phase{
				// One 5-s window, serve's default.
				{InitialNumberOfUsers: aws.Int32(2), SpawnRate: aws.Int32(0), DurationInSeconds: aws.Int32(5)}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	listSteps := func() []types.InferenceRecommendationsJobStep {
		t.Helper()
		out, err := c.ListInferenceRecommendationsJobSteps(ctx, &sagemaker.ListInferenceRecommendationsJobStepsInput{JobName: aws.String("survivor-job")})
		if err != nil {
			t.Fatal(err)
		}
		return out.Steps
	}
	var first types.InferenceRecommendationsJobStep
	for deadline := time.Now().Add(45 * time.Second); ; {
		st := listSteps()
		if len(st) == 2 && st[0].Status == types.RecommendationJobStatusCompleted && st[1].Status == types.RecommendationJobStatusInProgress {
			first = st[0]
			break
		}
		for _, s := range st {
			if s.Status == types.RecommendationJobStatusFailed {
				t.Fatalf("step failed: %s", aws.ToString(s.InferenceBenchmark.FailureReason))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second step did not start within 45 s: %+v", listSteps())
		}
		time.Sleep(100 * time.Millisecond)
	}
	servers := waitProcs(t, "kill-job", 15*time.Second)
	for _, s := range servers {
		if s.ppid != p.cmd.Process.Pid || !strings.Contains(s.cmdline, "model-server serve") {
			t.Errorf("model server %+v is not `model-server serve` started by serve (pid %d)", s, p.cmd.Process.Pid)
		}
	}
	time.Sleep(1500 * time.Millisecond) // into the load
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	waitNoProcs(t, "kill-job", 5*time.Second)

	p = startServe(t, bin, data)
	c = sdkClient(p.url)
	if d, err := c.DescribeModelPackage(ctx, &sagemaker.DescribeModelPackageInput{ModelPackageName: aws.String("survivor")}); err != nil ||
		aws.ToString(d.SamplePayloadUrl) != "file://"+payloads {
		t.Errorf("model package after the crash: %+v, %v", d, err)
	}
	d := waitJob(t, ctx, c, "survivor-job", 60*time.Second, types.RecommendationJobStatusCompleted)
	if len(d.InferenceRecommendations) != 2 {
		t.Errorf("recommendations after resuming: %+v", d.InferenceRecommendations)
	}
	steps := listSteps()
	if len(steps) != 2 || steps[0].Status != types.RecommendationJobStatusCompleted || steps[1].Status != types.RecommendationJobStatusCompleted {
		t.Fatalf("steps after resuming: %+v", steps)
	}
	// The step finished before the crash was kept, not run again.
	if a, b := steps[0].InferenceBenchmark, first.InferenceBenchmark; !a.InvocationStartTime.Equal(*b.InvocationStartTime) ||
		aws.ToInt32(a.Metrics.MaxInvocations) != aws.ToInt32(b.Metrics.MaxInvocations) {
		t.Errorf("the first step was run again: %+v, before the crash %+v", a, b)
	}
	if !steps[1].InferenceBenchmark.InvocationStartTime.After(*steps[0].InferenceBenchmark.InvocationEndTime) {
		t.Errorf("second step %+v", steps[1].InferenceBenchmark)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if !p.cmd.ProcessState.Success() {
			t.Errorf("serve exited %v after SIGTERM:\n%s", p.cmd.ProcessState, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30 s of SIGTERM")
	}
	waitNoProcs(t, "kill-job", 5*time.Second)
	if t.Failed() {
		t.Logf("serve log:\n%s", p.log())
	}
}
