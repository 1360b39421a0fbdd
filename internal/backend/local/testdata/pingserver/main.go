// Command pingserver is a model server for the local backend's tests. It
// honours the SageMaker contract ("serve", SAGEMAKER_BIND_TO_PORT, GET /ping,
// POST /invocations) and offers endpoints that make it burn CPU, allocate
// memory, start children and crash.
//
// Environment:
//
//	PINGSERVER_SETUP_DELAY        /ping answers 503 for this long (a Go duration)
//	PINGSERVER_LISTEN_LATE=1      do not even listen before the setup delay
//	PINGSERVER_EXIT_DURING_SETUP  exit with this code halfway through the setup delay
//	PINGSERVER_IGNORE_TERM=1      ignore SIGTERM (children too)
//	PINGSERVER_PIDFILE            write the process id there at start
//	PINGSERVER_NOISE              print this many lines at start
//
// "pingserver child MS" is a child process: it burns MS ms of CPU, prints
// "ready" and sleeps until killed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("PINGSERVER_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	if len(os.Args) == 3 && os.Args[1] == "child" {
		ms, _ := strconv.Atoi(os.Args[2])
		burnCPU(time.Duration(ms) * time.Millisecond)
		fmt.Println("ready")
		select {}
	}
	if len(os.Args) != 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: pingserver serve | pingserver child MS")
		os.Exit(2)
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "pingserver:", err)
		os.Exit(1)
	}
}

func serve() error {
	start := time.Now()
	if f := os.Getenv("PINGSERVER_PIDFILE"); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return err
		}
	}
	n, _ := strconv.Atoi(os.Getenv("PINGSERVER_NOISE"))
	for i := range n {
		fmt.Printf("noise line %d\n", i)
	}
	var delay time.Duration
	if s := os.Getenv("PINGSERVER_SETUP_DELAY"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		delay = d
	}
	if s := os.Getenv("PINGSERVER_EXIT_DURING_SETUP"); s != "" {
		code, _ := strconv.Atoi(s)
		go func() {
			time.Sleep(delay / 2)
			fmt.Fprintln(os.Stderr, "fatal: model not found")
			os.Exit(code)
		}()
	}
	if os.Getenv("PINGSERVER_LISTEN_LATE") == "1" {
		time.Sleep(delay)
	}
	addr := net.JoinHostPort(os.Getenv("INFERSCALE_BIND_HOST"), os.Getenv("SAGEMAKER_BIND_TO_PORT"))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening on", l.Addr())

	var mu sync.Mutex
	var kept [][]byte
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		if time.Since(start) < delay {
			http.Error(w, "loading", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, k := range []string{"PATH", "HOME", "SAGEMAKER_BIND_TO_PORT", "INFERSCALE_BIND_HOST", "MODEL_OPTION", "LOCAL_TEST_SECRET"} {
			if v, ok := os.LookupEnv(k); ok {
				env[k] = v
			}
		}
		json.NewEncoder(w).Encode(map[string]any{
			"pid": os.Getpid(), "gomaxprocs": runtime.GOMAXPROCS(0), "args": os.Args[1:], "env": env, "env_count": len(os.Environ()),
		})
	})
	// /burn?ms=M&threads=T spins T goroutines for M ms of wall time.
	mux.HandleFunc("POST /burn", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		threads, _ := strconv.Atoi(r.URL.Query().Get("threads"))
		before := cpuTime()
		var wg sync.WaitGroup
		for range max(threads, 1) {
			wg.Go(func() {
				end := time.Now().Add(time.Duration(ms) * time.Millisecond)
				for time.Now().Before(end) {
					spin()
				}
			})
		}
		wg.Wait()
		json.NewEncoder(w).Encode(map[string]any{"cpu_ms": float64(cpuTime()-before) / 1e6})
	})
	// /burncpu?ms=M spins until the process has used M ms more CPU time.
	mux.HandleFunc("POST /burncpu", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		before := cpuTime()
		burnCPU(time.Duration(ms) * time.Millisecond)
		json.NewEncoder(w).Encode(map[string]any{"cpu_ms": float64(cpuTime()-before) / 1e6})
	})
	// /alloc?mb=N allocates and touches N MiB and keeps it.
	mux.HandleFunc("POST /alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		mu.Lock()
		kept = append(kept, b)
		mu.Unlock()
		w.Write([]byte("{}"))
	})
	// /spawn?burn_ms=M&setsid=1 starts "pingserver child M" (in a session of
	// its own with setsid=1), waits for it to be ready, returns its pid.
	mux.HandleFunc("POST /spawn", func(w http.ResponseWriter, r *http.Request) {
		cmd := exec.Command(os.Args[0], "child", r.URL.Query().Get("burn_ms"))
		cmd.Stderr = os.Stderr
		if r.URL.Query().Get("setsid") == "1" {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := cmd.Start(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
			http.Error(w, fmt.Sprintf("child said %q: %v", line, err), 500)
			return
		}
		go cmd.Wait()
		json.NewEncoder(w).Encode(map[string]any{"pid": cmd.Process.Pid})
	})
	// /exit?code=N exits right after answering.
	mux.HandleFunc("POST /exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.Write([]byte("{}"))
		w.(http.Flusher).Flush()
		go func() {
			time.Sleep(10 * time.Millisecond)
			fmt.Fprintf(os.Stderr, "exiting with %d\n", code)
			os.Exit(code)
		}()
	})

	srv := &http.Server{Handler: mux}
	if os.Getenv("PINGSERVER_IGNORE_TERM") != "1" { // Notify would undo Ignore
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			<-term
			fmt.Println("SIGTERM: shutting down")
			srv.Close()
		}()
	}
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	return nil
}

var sink uint64

func spin() {
	for i := range 10000 {
		sink += uint64(i) * 2654435761
	}
}

// cpuTime is the CPU time this process has used (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// burnCPU spins until the process has used d more CPU time.
func burnCPU(d time.Duration) {
	end := cpuTime() + d
	for cpuTime() < end {
		spin()
	}
}
