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
//
// With TESTMODEL_MULTI_MODEL=1 it also serves the multi-model contract:
// POST /models {"model_name", "url"} (400 if url does not exist, 409 if
// loaded, 507 beyond TESTMODEL_MAX_MODELS; it takes TESTMODEL_LOAD_DELAY),
// GET /models, DELETE /models/{name}, and POST /models/{name}/invoke, which
// answers as /invocations does with "model=NAME,loads=K" added to the
// custom attributes (K: how often NAME was loaded by this process) and
// "target=T", the X-Amzn-SageMaker-Target-Model header.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	invoke := func(w http.ResponseWriter, r *http.Request, attrs string) {
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
		w.Header().Set("X-Amzn-SageMaker-Custom-Attributes", "pid="+pid+",ct="+r.Header.Get("Content-Type")+attrs)
		w.WriteHeader(status)
		w.Write(body)
	}
	mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) { invoke(w, r, "") })
	if os.Getenv("TESTMODEL_MULTI_MODEL") == "1" {
		multiModel(mux, invoke)
	}
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

// multiModel adds the multi-model routes to mux.
func multiModel(mux *http.ServeMux, invoke func(http.ResponseWriter, *http.Request, string)) {
	maxModels, _ := strconv.Atoi(os.Getenv("TESTMODEL_MAX_MODELS"))
	loadDelay, _ := time.ParseDuration(os.Getenv("TESTMODEL_LOAD_DELAY"))
	var mu sync.Mutex
	loaded := map[string]string{} // name -> url
	loading := map[string]bool{}
	loads := map[string]int{}
	mux.HandleFunc("POST /models", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name string `json:"model_name"`
			URL  string `json:"url"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
			http.Error(w, "bad load request", http.StatusBadRequest)
			return
		}
		if _, err := os.Stat(req.URL); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		switch {
		case loaded[req.Name] != "" || loading[req.Name]:
			mu.Unlock()
			http.Error(w, "already loaded", http.StatusConflict)
			return
		case maxModels > 0 && len(loaded)+len(loading) >= maxModels:
			mu.Unlock()
			http.Error(w, "no room", http.StatusInsufficientStorage)
			return
		}
		loading[req.Name] = true
		mu.Unlock()
		time.Sleep(loadDelay)
		mu.Lock()
		delete(loading, req.Name)
		loaded[req.Name] = req.URL
		loads[req.Name]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /models", func(w http.ResponseWriter, r *http.Request) {
		type model struct {
			Name string `json:"modelName"`
			URL  string `json:"modelUrl"`
		}
		mu.Lock()
		out := struct {
			Models []model `json:"models"`
		}{Models: []model{}}
		for n, u := range loaded {
			out.Models = append(out.Models, model{n, u})
		}
		mu.Unlock()
		slices.SortFunc(out.Models, func(a, b model) int { return strings.Compare(a.Name, b.Name) })
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("DELETE /models/{name}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		_, ok := loaded[r.PathValue("name")]
		delete(loaded, r.PathValue("name"))
		mu.Unlock()
		if !ok {
			http.Error(w, "not loaded", http.StatusNotFound)
		}
	})
	mux.HandleFunc("POST /models/{name}/invoke", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		mu.Lock()
		_, ok := loaded[name]
		n := loads[name]
		mu.Unlock()
		if !ok {
			http.Error(w, "not loaded", http.StatusNotFound)
			return
		}
		invoke(w, r, ",model="+name+",loads="+strconv.Itoa(n)+",target="+r.Header.Get("X-Amzn-SageMaker-Target-Model"))
	})
}
