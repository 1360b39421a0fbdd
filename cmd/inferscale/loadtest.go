package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/inferscale/inferscale/internal/loadgen"
)

func init() {
	register(command{
		name:    "loadtest",
		summary: "load-test an HTTP endpoint (closed loop of users or open loop at a rate)",
		run:     runLoadtest,
	})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runLoadtest(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "loadtest", "--url URL (--rate N [--poisson] | --users N) [--duration D] [flags]")
	var (
		url         = fs.String("url", "", "`URL` to send requests to (http:// or https://host:port/path); required")
		rate        = fs.Float64("rate", 0, "open loop: arrival rate in requests per second")
		poisson     = fs.Bool("poisson", false, "open loop: Poisson arrivals instead of evenly spaced ones")
		seed        = fs.Int64("seed", 1, "open loop: seed for Poisson arrivals")
		users       = fs.Int("users", 0, "closed loop: number of concurrent users (one connection each)")
		duration    = fs.Duration("duration", 0, "how long to run, e.g. 10s (required with --rate)")
		requests    = fs.Int64("requests", 0, "stop after this many requests (0: no limit)")
		method      = fs.String("method", "POST", "HTTP method")
		contentType = fs.String("content-type", "", "content type of the payloads (default: from the file extension)")
		timeout     = fs.Duration("timeout", loadgen.DefaultTimeout, "per-request timeout")
		maxInFlight = fs.Int("max-in-flight", loadgen.DefaultMaxInFlight, "open loop: most requests in flight; more are counted as overload errors")
		output      = fs.String("output", "text", "output format: text or json")
		quiet       = fs.Bool("quiet", false, "do not print a line per second on stderr")
		cacert      = fs.String("cacert", "", "https: trust the certificates in this PEM `FILE` besides the system's")
		insecure    = fs.Bool("insecure", false, "https: do not verify the server's certificate")
		payloads    stringList
		headers     stringList
	)
	fs.Var(&payloads, "payload", "`FILE` whose contents are a request body; repeat to cycle through several (default: empty body)")
	fs.Var(&headers, "header", "extra request header `\"Name: value\"`; repeatable")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	set := setFlags(fs)
	switch {
	case *url == "":
		return fmt.Errorf("%w: --url is required", errUsage)
	case set["rate"] && !(*rate > 0):
		return fmt.Errorf("%w: --rate must be positive, got %v", errUsage, *rate)
	case set["users"] && *users <= 0:
		return fmt.Errorf("%w: --users must be positive, got %d", errUsage, *users)
	case *requests < 0:
		return fmt.Errorf("%w: --requests must not be negative, got %d", errUsage, *requests)
	case *duration < 0:
		return fmt.Errorf("%w: --duration must not be negative, got %s", errUsage, *duration)
	case *timeout <= 0:
		return fmt.Errorf("%w: --timeout must be positive, got %s", errUsage, *timeout)
	case *maxInFlight <= 0:
		return fmt.Errorf("%w: --max-in-flight must be positive, got %d", errUsage, *maxInFlight)
	case (*rate > 0) == (*users > 0):
		return fmt.Errorf("%w: give exactly one of --rate (open loop) and --users (closed loop)", errUsage)
	case *rate > 0 && *duration == 0:
		return fmt.Errorf("%w: --rate needs --duration", errUsage)
	case *users > 0 && *duration == 0 && *requests == 0:
		return fmt.Errorf("%w: --users needs --duration or --requests", errUsage)
	case *output != "text" && *output != "json":
		return fmt.Errorf("%w: --output must be text or json, not %q", errUsage, *output)
	}

	req := loadgen.Request{URL: *url, Method: *method, Timeout: *timeout, Header: http.Header{}}
	var err error
	if req.TLS, err = tlsConfig(*cacert, *insecure); err != nil {
		return err
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("%w: --header %q: want \"Name: value\"", errUsage, h)
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if req.Payloads, err = readPayloads(payloads, *contentType); err != nil {
		return err
	}
	if len(req.Payloads) == 0 {
		req.Payloads = []loadgen.Payload{{ContentType: *contentType}}
	}

	o := loadgen.Options{Request: req, Duration: *duration, MaxRequests: *requests}
	if *rate > 0 {
		o.Arrivals = &loadgen.Arrivals{Rate: *rate, Poisson: *poisson, Seed: *seed, MaxInFlight: *maxInFlight}
	} else {
		o.Users = loadgen.ConstantUsers(*users, 0)
	}
	if !*quiet {
		o.OnInterval = func(iv loadgen.Interval) { printInterval(cio.stderr, iv) }
	}
	// Run fails only for invalid options, such as a malformed URL; failed
	// requests are counted, and an interrupt ends the run early.
	res, err := loadgen.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *output == "json" {
		enc := json.NewEncoder(cio.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printSummary(cio.stdout, res)
	}
	// A run in which not one request succeeded measured nothing: most
	// likely the URL is wrong or the server is down.
	if res.Succeeded == 0 {
		msg := fmt.Sprintf("no request succeeded (%d sent)", res.Sent)
		if res.FirstError != "" {
			msg += "; first error: " + res.FirstError
		}
		return errors.New(msg)
	}
	return nil
}

// tlsConfig is the client TLS configuration of --cacert and --insecure;
// nil means the system's roots.
func tlsConfig(cacert string, insecure bool) (*tls.Config, error) {
	if cacert == "" && !insecure {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: insecure}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, fmt.Errorf("%w: --cacert: %v", errUsage, err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: --cacert %s: no PEM certificate in it", errUsage, cacert)
		}
		c.RootCAs = roots
	}
	return c, nil
}

func printInterval(w io.Writer, iv loadgen.Interval) {
	var load string
	if iv.OfferedRate > 0 {
		load = fmt.Sprintf("offered %.0f/s", iv.OfferedRate)
	} else {
		load = fmt.Sprintf("users %d", iv.Users)
	}
	end := time.Duration(iv.Second)*time.Second + iv.Length
	fmt.Fprintf(w, "%6.1fs  sent %7d  ok %7d  errors %s  p50 %s  p95 %s  p99 %s  in-flight %d  %s\n",
		end.Seconds(), iv.Sent, iv.Succeeded, formatErrors(iv.Errors), fmtDur(iv.P50), fmtDur(iv.P95), fmtDur(iv.P99), iv.InFlight, load)
}

func printSummary(w io.Writer, r *loadgen.Result) {
	fmt.Fprintf(w, "elapsed     %s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "requests    %d sent, %d succeeded, %d unfinished\n", r.Sent, r.Succeeded, r.Unfinished)
	fmt.Fprintf(w, "throughput  %.1f req/s\n", r.Throughput())
	fmt.Fprintf(w, "errors      %s (%.2f%%)\n", formatErrors(r.Errors), 100*r.ErrorRate())
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error %s\n", r.FirstError)
	}
	if r.Latency != nil && r.Latency.TotalCount() > 0 {
		fmt.Fprintf(w, "latency     p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
			fmtDur(r.Quantile(0.5)), fmtDur(r.Quantile(0.9)), fmtDur(r.Quantile(0.95)),
			fmtDur(r.Quantile(0.99)), fmtDur(r.Quantile(0.999)),
			fmtDur(time.Duration(r.Latency.Max())*time.Microsecond))
	}
}

func formatErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// fmtDur prints a latency in milliseconds with three decimals.
func fmtDur(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/1e6) }
