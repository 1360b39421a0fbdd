package main

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
)

// TestHelp checks that help asked for goes to stdout with status 0, and
// help shown for a mistake to stderr with status 2.
func TestHelp(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string // substring; "" means stdout must be empty
		stderr string // substring; "" means stderr must be empty
	}{
		{[]string{"--help"}, 0, "usage: inferscale <command>", ""},
		{[]string{"-h"}, 0, "usage: inferscale <command>", ""},
		{[]string{"help"}, 0, "usage: inferscale <command>", ""},
		{[]string{"help", "recommend"}, 0, "usage: inferscale recommend", ""},
		{[]string{"help", "model-server"}, 0, "usage: inferscale model-server serve", ""},
		{[]string{"recommend", "-h"}, 0, "-target-cpu-per-core", ""},
		{[]string{"loadtest", "--help"}, 0, "usage: inferscale loadtest", ""},
		{[]string{"demo", "-h"}, 0, "job name (default inferscale-demo)", ""},
		{[]string{}, 2, "", "usage: inferscale <command>"},
		{[]string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{[]string{"nope"}, 2, "", `unknown command "nope"`},
		{[]string{"recommend", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, nil, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.code)
		}
		if (tt.stdout == "") != (stdout == "") || !strings.Contains(stdout, tt.stdout) {
			t.Errorf("%v: stdout %q, want %q", tt.args, stdout, tt.stdout)
		}
		if (tt.stderr == "") != (stderr == "") || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: stderr %q, want %q", tt.args, stderr, tt.stderr)
		}
	}
	// help recommend is recommend -h, not the top-level help.
	_, a, _ := runCLI(t, nil, "help", "recommend")
	_, b, _ := runCLI(t, nil, "recommend", "-h")
	if a != b {
		t.Errorf("help recommend:\n%s\nrecommend -h:\n%s", a, b)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != 0 || !strings.HasPrefix(stdout, "inferscale ") || stdout != "inferscale "+buildVersion()+"\n" && !strings.Contains(stdout, "(commit ") || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runCLI(t, nil, "version", "extra"); code != 2 || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("version extra: exit %d, stderr %q", code, stderr)
	}
}

// TestInterruptExitStatus: a command that fails after SIGINT exits 130
// (SIGTERM: 143), as a shell reports a process killed by the signal.
func TestInterruptExitStatus(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(signalCause{tt.sig})
		var stdout, stderr bytes.Buffer
		cio := cmdIO{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := run(ctx, cio, []string{"loadtest", "--url", "http://127.0.0.1:1/", "--users", "1", "--duration", "5s", "--quiet"})
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d; stderr %q", tt.sig, code, tt.code, stderr.String())
		}
	}
}
