package local

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// Fields after the command: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
	// threads itrealvalue starttime ...
	rest := " S 10 20 20 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 4 0 123456 1000000 300 18446744073709551615"
	tests := []struct {
		name, comm string
	}{
		{"plain", "python3"},
		{"spaces and parentheses", "a) (b c)"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseStat(42, []byte("42 ("+tt.comm+")"+rest+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			want := proc{pid: 42, ppid: 10, pgid: 20, state: 'S', comm: tt.comm, cpuTicks: 250 + 50 + 7 + 3, start: 123456}
			if p != want {
				t.Errorf("parseStat = %+v, want %+v", p, want)
			}
		})
	}
	for _, bad := range []string{"", "42 python", "42 (x) S 1 2", "42 (x)" + strings.Replace(rest, " 250 ", " x ", 1)} {
		if _, err := parseStat(42, []byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
	if cpuTime(310) != 3100*time.Millisecond {
		t.Errorf("cpuTime(310) = %v", cpuTime(310))
	}
}

func TestTree(t *testing.T) {
	// 1 ─ 100 (group leader) ─ 101 ─ 102 (new session)
	//                        └ 103
	// 1 ─ 104 (orphan still in group 100) ─ 105
	// 1 ─ 200 ─ 201 (unrelated)
	all := []proc{
		{pid: 1, ppid: 0, pgid: 1},
		{pid: 100, ppid: 1, pgid: 100},
		{pid: 101, ppid: 100, pgid: 100},
		{pid: 102, ppid: 101, pgid: 102},
		{pid: 103, ppid: 100, pgid: 100},
		{pid: 104, ppid: 1, pgid: 100},
		{pid: 105, ppid: 104, pgid: 105},
		{pid: 200, ppid: 1, pgid: 200},
		{pid: 201, ppid: 200, pgid: 200},
	}
	tests := []struct {
		name  string
		roots []int
		pgid  int
		want  []int
	}{
		{"leader and group", []int{100}, 100, []int{100, 101, 102, 103, 104, 105}},
		{"descendants only", []int{100}, 0, []int{100, 101, 102, 103}},
		{"leader gone, group left", []int{999}, 100, []int{100, 101, 102, 103, 104, 105}},
		{"several roots", []int{102, 201}, 0, []int{102, 201}},
		{"nothing", []int{999}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, p := range tree(all, tt.roots, tt.pgid) {
				got = append(got, p.pid)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("tree = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProcSelf(t *testing.T) {
	p, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.ppid != os.Getppid() || p.state == 'Z' || !alive(p) {
		t.Errorf("readProc(self) = %+v", p)
	}
	if alive(proc{pid: p.pid, start: p.start + 1}) {
		t.Error("alive ignores the start time")
	}
	m, err := memory(os.Getpid())
	if err != nil || m <= 0 {
		t.Errorf("memory(self) = %d, %v", m, err)
	}
}

func TestListener(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	p, err := listener(port)
	if err != nil || p.pid != os.Getpid() {
		t.Errorf("listener(%d) = %+v, %v; want this process", port, p, err)
	}
	// A pre-forking server shares its socket with its workers: the topmost
	// owner is the server.
	f, err := srv.Listener.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	worker := exec.Command("sleep", "10")
	worker.ExtraFiles = []*os.File{f}
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer func() { worker.Process.Kill(); worker.Wait() }()
	for range 10 {
		if p, err = listener(port); err != nil || p.pid != os.Getpid() {
			t.Errorf("listener(%d) with a worker = %+v, %v; want this process", port, p, err)
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if _, err := listener(closed); !errors.Is(err, errNoListener) {
		t.Errorf("listener(closed port) = %v, want errNoListener", err)
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   func(string) bool
	}{
		{"short", []string{"a\n", "b\n\n"}, func(s string) bool { return s == "a\nb" }},
		{"empty", nil, func(s string) bool { return s == "" }},
		{"long is cut at a line", []string{strings.Repeat("x", 5000) + "\n", strings.Repeat("first line\n", 100), "last\n"}, func(s string) bool {
			return strings.HasPrefix(s, "…\nfirst line") && strings.HasSuffix(s, "first line\nlast") && len(s) <= tailSize+len("…")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl tail
			for _, w := range tt.writes {
				tl.Write([]byte(w))
			}
			if got := tl.String(); !tt.want(got) {
				t.Errorf("tail = %q", got)
			}
		})
	}
}
