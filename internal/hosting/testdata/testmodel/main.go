// Command testmodel is a model server for the hosting tests. It honours the
// SageMaker contract ("serve", SAGEMAKER_BIND_TO_PORT, GET /ping, POST
// /invocations) and echoes the request body. The response's Content-Type is
// the request's Accept, and its custom attributes are "pid=PID,ct=CT" (CT:
// the request's Content-Type).
//
// Knobs, in the request's X-Amzn-SageMaker-Custom-Attributes (separated by
// commas): delay=DURATION sleeps first; status=N answers with status N;
// crash exits at once without answering; hang makes /ping and later
// invocations block forever.
//
// Environment: TESTMODEL_SETUP_DELAY makes /ping answer 503 for that long;
// TESTMODEL_EXIT=N exits with code N at start.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: testmodel serve")
		os.Exit(2)
	}
	if s := os.Getenv("TESTMODEL_EXIT"); s != "" {
		code, _ := strconv.Atoi(s)
		fmt.Fprintln(os.Stderr, "fatal: model artefact missing")
		os.Exit(code)
	}
	start := time.Now()
	var setup time.Duration
	if s := os.Getenv("TESTMODEL_SETUP_DELAY"); s != "" {
		setup, _ = time.ParseDuration(s)
	}
	var hung atomic.Bool
	block := make(chan struct{}) // never closed
	pid := strconv.Itoa(os.Getpid())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		if hung.Load() {
			<-block
		}
		if time.Since(start) < setup {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
		if hung.Load() {
			<-block
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		status := http.StatusOK
		for knob := range strings.SplitSeq(r.Header.Get("X-Amzn-SageMaker-Custom-Attributes"), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(knob), "=")
			switch k {
			case "delay":
				d, _ := time.ParseDuration(v)
				time.Sleep(d)
			case "status":
				status, _ = strconv.Atoi(v)
			case "crash":
				os.Exit(3)
			case "hang":
				hung.Store(true)
			}
		}
		if a := r.Header.Get("Accept"); a != "" {
			w.Header().Set("Content-Type", a)
		}
		w.Header().Set("X-Amzn-SageMaker-Custom-Attributes", "pid="+pid+",ct="+r.Header.Get("Content-Type"))
		w.WriteHeader(status)
		w.Write(body)
	})
	host := os.Getenv("INFERSCALE_BIND_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, os.Getenv("SAGEMAKER_BIND_TO_PORT")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testmodel:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "testmodel: listening on", l.Addr())
	if err := http.Serve(l, mux); err != nil {
		fmt.Fprintln(os.Stderr, "testmodel:", err)
		os.Exit(1)
	}
}
