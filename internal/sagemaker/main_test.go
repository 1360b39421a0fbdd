package sagemaker_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/inferscale/inferscale/internal/testbin"
)

// The job tests run the real inferscale binary: its built-in sample model
// server (`inferscale model-server serve`) as the instances jobs benchmark,
// and `inferscale serve` itself in the crash test. It is built once, on
// first use, into a directory TestMain removes.

var (
	buildOnce   sync.Once
	builtBin    string
	removeBuild func()
	buildErr    error
)

func inferscaleBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		builtBin, removeBuild, buildErr = testbin.Build("../../cmd/inferscale", "inferscale")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if removeBuild != nil {
		removeBuild()
	}
	os.Exit(code)
}

// proc is a process of this host.
type proc struct {
	pid, ppid int
	state     byte
	cmdline   string
}

// procsWithEnv lists the live processes whose environment holds kv
// (KEY=VALUE): the tests mark the model servers of each job that way.
func procsWithEnv(t testing.TB, kv string) []proc {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var out []proc
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !containsEntry(env, kv) {
			continue
		}
		p, ok := readProc(d)
		if ok && p.state != 'Z' && p.state != 'X' {
			out = append(out, p)
		}
	}
	return out
}

func containsEntry(env []byte, kv string) bool {
	for _, e := range strings.Split(string(env), "\x00") {
		if e == kv {
			return true
		}
	}
	return false
}

func readProc(dir string) (proc, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return proc{}, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[end+1:])
	if end < 0 || len(f) < 2 {
		return proc{}, false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(s[:strings.IndexByte(s, ' ')]))
	ppid, _ := strconv.Atoi(f[1])
	cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	return proc{pid: pid, ppid: ppid, state: f[0][0], cmdline: strings.ReplaceAll(string(cmd), "\x00", " ")}, true
}
