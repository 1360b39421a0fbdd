package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimulateFlags(t *testing.T) {
	code, help, _ := runCLI(t, nil, "simulate", "-h")
	if code != 0 {
		t.Fatalf("simulate -h: exit %d", code)
	}
	for _, want := range []string{"-policy FILE", "-alarm FILE", "-plot FILE"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	for _, bad := range []string{"(default -1", "-policy value", "-alarm value"} {
		if strings.Contains(help, bad) {
			t.Errorf("help contains %q:\n%s", bad, help)
		}
	}

	dir := t.TempDir()
	trace, policy := filepath.Join(dir, "trace.csv"), filepath.Join(dir, "policy.json")
	files := map[string]string{
		trace: "100\n200\n300\n",
		policy: `{"PolicyName": "p", "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {
		  "TargetValue": 100, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}`,
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"simulate", "--trace", trace, "--policy", policy, "--max-invocations", "1000"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--min", "-1"}, "must not be negative"},
		{[]string{"--max", "0"}, "--max must be at least 1"},
		{[]string{"--min", "3", "--max", "2"}, "--min 3 is above --max 2"},
		{[]string{"--setup-time", "-1s"}, "must not be negative"},
		{[]string{"--max-invocations", "-5"}, "--max-invocations must be positive"},
	} {
		code, stdout, stderr := runCLI(t, nil, append(base, tt.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	// Explicit values, zero included, are used.
	code, stdout, stderr := runCLI(t, nil, append(base, "--min", "2", "--setup-time", "0s")...)
	if code != 0 || !strings.Contains(stdout, "capacity 2..10") || !strings.Contains(stdout, "setup 0s") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
