package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

func TestServeFlags(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(creds, []byte("AKIDX only-a-key-and-a-secret 12\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no data dir", []string{"serve"}, 2, "--data-dir is required"},
		{"all interfaces without credentials", []string{"serve", "--data-dir", data, "--addr", ":8686"}, 2,
			"refusing to listen on :8686 without --credentials"},
		{"public address without credentials", []string{"serve", "--data-dir", data, "--addr", "10.1.2.3:80"}, 2,
			"refusing to listen on 10.1.2.3:80 without --credentials"},
		{"bad address", []string{"serve", "--data-dir", data, "--addr", "nowhere"}, 2, `listen address "nowhere"`},
		{"bad credentials file", []string{"serve", "--data-dir", data, "--credentials", creds}, 1, `account "12" is not 12 digits`},
		{"missing credentials file", []string{"serve", "--data-dir", data, "--credentials", creds + ".nope"}, 1, "no such file"},
		{"extra argument", []string{"serve", "--data-dir", data, "now"}, 2, `unexpected argument "now"`},
		{"negative warmup", []string{"serve", "--data-dir", data, "--warmup", "-1s"}, 2, "--warmup must be positive"},
		{"no instance quota", []string{"serve", "--data-dir", data, "--endpoint-instance-quota", "0"}, 2, "--endpoint-instance-quota must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), cmdIO{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, tt.args)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}

// serveProcess is `inferscale serve` running as a child.
type serveProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr bytes.Buffer
	done   chan struct{} // closed when stdout is fully read
}

func startServe(t *testing.T, bin string, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...), done: make(chan struct{})}
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.done:
		p.cmd.Wait()
		t.Fatalf("serve exited before listening: %s", p.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not print its address within 20 s")
	}
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		<-p.done
		exited <- p.cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}
}

func (p *serveProcess) client() *sagemaker.Client {
	return sagemaker.NewFromConfig(aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s"}, nil
		}),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(p.url) })
}

// TestServeProcess runs the built binary: it serves /healthz and the SDK,
// exits cleanly on SIGTERM, and a second run on the same data directory
// finds what the first one stored.
func TestServeProcess(t *testing.T) {
	bin := buildInferscale(t)
	data := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p := startServe(t, bin, "--data-dir", data)
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var h struct{ Status string }
	if resp.StatusCode != 200 || json.Unmarshal(body, &h) != nil || h.Status != "ok" {
		t.Errorf("/healthz = %d %s", resp.StatusCode, body)
	}
	_, err = p.client().CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String("persisted"),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String("img:1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.stop(t)

	p = startServe(t, bin, "--data-dir", data)
	d, err := p.client().DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: aws.String("persisted")})
	if err != nil || aws.ToString(d.ModelArn) != "arn:aws:sagemaker:us-east-1:123456789012:model/persisted" {
		t.Errorf("after restart: %+v, %v", d, err)
	}
	p.stop(t)
}
