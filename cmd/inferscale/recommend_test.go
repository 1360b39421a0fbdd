package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/recommend"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestPrintReportGolden(t *testing.T) {
	cat, _ := catalog.Default()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	in := recommend.JobInput{JobName: "golden", JobType: recommend.JobTypeDefault}
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	plan := func(idx int, typ string) recommend.StepPlan {
		t, _ := cat.Lookup(typ)
		return recommend.StepPlan{Index: idx, InstanceType: t}
	}
	steps := []recommend.StepResult{
		{Plan: plan(0, "ml.m5.large"), Index: 0, InstanceType: "ml.m5.large", Status: recommend.StatusCompleted, InstanceCount: 1, Start: start, End: start.Add(30 * time.Second),
			Metrics:  &recommend.Metrics{MaxInvocations: 120000, ModelLatency: 1840, CpuUtilization: f(181.2), MemoryUtilization: f(0.31), ModelSetupTime: i(1), CostPerHour: f(0.115), CostPerInference: f(0.115 / (120000 * 60))},
			Verdict:  "throughput levelled off",
			Warnings: []string{"host has 2 CPUs; shared"}},
		{Plan: plan(1, "ml.t2.medium"), Index: 1, InstanceType: "ml.t2.medium", Status: recommend.StatusCompleted, InstanceCount: 1, Start: start, End: start.Add(60 * time.Second),
			Metrics: &recommend.Metrics{MaxInvocations: 118000, ModelLatency: 1900, CpuUtilization: f(180), MemoryUtilization: f(0.6), ModelSetupTime: i(1)},
			NoPrice: "the catalog has no price"},
		{Plan: plan(2, "ml.c5.xlarge"), Index: 2, InstanceType: "ml.c5.xlarge", Status: recommend.StatusFailed, FailureReason: "launch: exited"},
	}
	rep := &recommend.Report{Status: recommend.StatusCompleted, Start: start, End: start.Add(95 * time.Second), Steps: steps}
	desc := recommend.Describe(in, rep, "us-east-1", defaultAccount, recommend.Goals{})
	var buf bytes.Buffer
	printReport(&buf, in, rep, desc, cat, "us-east-1")
	golden(t, "report.golden", buf.Bytes())
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in   string
		p    string
		ms   int
		fail string
	}{
		{"P95=100ms", "P95", 100, ""},
		{"p99=1s", "P99", 1000, ""},
		{"P95", "", 0, "want PERCENTILE=DURATION"},
		{"P42=10ms", "", 0, "percentile must be"},
		{"P95=fast", "", 0, "invalid duration"},
		{"P95=500us", "", 0, "whole number of milliseconds"},
	}
	for _, tt := range tests {
		th, err := parseThreshold(tt.in)
		if tt.fail != "" {
			if err == nil || !strings.Contains(err.Error(), tt.fail) {
				t.Errorf("%s: err %v, want %q", tt.in, err, tt.fail)
			}
			continue
		}
		if err != nil || th.Percentile != tt.p || th.ValueInMilliseconds != tt.ms {
			t.Errorf("%s: %+v %v", tt.in, th, err)
		}
	}
}

func TestParseGoals(t *testing.T) {
	g, err := parseGoals("cost=5, latency=2,throughput=0")
	if err != nil || g != (recommend.Goals{Cost: 5, Latency: 2}) {
		t.Errorf("%+v %v", g, err)
	}
	for _, bad := range []string{"cost=6", "speed=1", "cost"} {
		if _, err := parseGoals(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
