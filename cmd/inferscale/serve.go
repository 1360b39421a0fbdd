package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strings"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/catalog"
	"github.com/inferscale/inferscale/internal/recommend"
	"github.com/inferscale/inferscale/internal/sagemaker"
	"github.com/inferscale/inferscale/internal/server"
)

func init() {
	register(command{
		name:    "serve",
		summary: "serve the SageMaker, SageMaker Runtime, CloudWatch and Application Auto Scaling APIs",
		run:     runServe,
	})
}

const serveSynopsis = `--data-dir DIR [--addr HOST:PORT] [--credentials FILE] [job flags] [-v]

Serves the AWS APIs inferscale speaks on one listener, with /healthz and
Prometheus /metrics, and keeps their state in DIR/` + server.DatabaseFile + ` (one
server at a time: DIR is locked while it runs):

  SageMaker                  models, model packages and groups, tags,
                             Inference Recommender jobs, endpoint configs and
                             endpoints (instances run as processes on this host)
  SageMaker Runtime          InvokeEndpoint (POST /endpoints/NAME/invocations)
  CloudWatch                 metrics (the endpoints' own and PutMetricData's),
                             alarms
  Application Auto Scaling   scalable targets, scaling policies, scheduled
                             actions, activities

Point any AWS client at it:

  aws --endpoint-url http://127.0.0.1:8686 sagemaker list-models
  aws --endpoint-url http://127.0.0.1:8686 cloudwatch list-metrics

Without --credentials, any signature is accepted (the access key picks no
account: everything is in account ` + api.DefaultAccount + `), so the server only
listens on loopback addresses. With --credentials FILE, SigV4 signatures are
verified against FILE, one access key per line:

  # ACCESS_KEY SECRET_KEY [ACCOUNT]
  AKIDTEAMA   s3cr3t-a   111122223333
  AKIDTEAMB   s3cr3t-b

(ACCOUNT is 12 digits, ` + api.DefaultAccount + ` when omitted.) /metrics is
not signed: with --credentials it answers loopback clients only, unless
--public-metrics. The address
actually listened on is printed as "listening on HOST:PORT", so port 0 picks
a free port. SIGTERM or SIGINT shuts down gracefully.

Recommendation jobs (CreateInferenceRecommendationsJob) run in the server,
--max-jobs at a time, their model servers as processes on this host (see
the README, "inferscale serve"). A job interrupted by a shutdown or a crash
resumes when the server starts again on the same DIR. --warmup,
--level-duration and --confirm-duration shorten or lengthen every benchmark
(e.g. 1s, 2s, 3s for quick trials; the defaults measure more steadily).

Endpoints run their instances as processes on this host, so the instances
of each instance type across an account's endpoints in a region are
bounded, as AWS's "ml.TYPE for endpoint usage" quotas bound them:
--endpoint-instance-quota (below). CreateEndpoint, UpdateEndpoint (whose
new fleet counts until it replaces the old one) and
UpdateEndpointWeightsAndCapacities (and so the autoscaler) fail with
ResourceLimitExceeded beyond it.`

func runServe(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "serve", serveSynopsis)
	addr := fs.String("addr", "127.0.0.1:8686", "listen `address` (host:port; port 0 picks a free one)")
	dataDir := fs.String("data-dir", "", "`directory` of the database (created if missing; required)")
	credFile := fs.String("credentials", "", "`file` of access keys whose signatures are verified (see above)")
	publicMetrics := fs.Bool("public-metrics", false, "with --credentials, serve /metrics (unsigned) to any client, not only loopback ones")
	verbose := fs.Bool("v", false, "log every request")
	maxJobs := fs.Int("max-jobs", sagemaker.DefaultMaxConcurrentJobs(), "recommendation jobs run at once; others wait, PENDING")
	var catalogs multiFlag
	fs.Var(&catalogs, "catalog", "instance-type catalog `FILE` with your own types or prices (repeatable)")
	warmup := fs.Duration("warmup", 0, "jobs: warm-up before measuring (default 2s)")
	level := fs.Duration("level-duration", 0, "jobs: length of each load level of a Default job (default 4s)")
	confirm := fs.Duration("confirm-duration", 0, "jobs: length of the open-loop confirmation (default 6s)")
	quota := fs.Int("endpoint-instance-quota", sagemaker.DefaultInstanceQuota,
		"instances of each instance type the endpoints of an account and region may have (AWS's \"TYPE for endpoint usage\" quota)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The API's live heap is small and it allocates per request: collecting
	// at 4× the live heap instead of 2× costs a few MB and lifts ListModels
	// on one core from about 6,800 to 8,000 requests/s (bench/api/run.sh).
	// A GOGC in the environment wins.
	if cio.getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case *dataDir == "":
		return fmt.Errorf("%w: --data-dir is required", errUsage)
	case *maxJobs < 1:
		return fmt.Errorf("%w: --max-jobs must be at least 1", errUsage)
	case *quota < 1:
		return fmt.Errorf("%w: --endpoint-instance-quota must be at least 1", errUsage)
	}
	if err := checkTuning(setFlags(fs), *warmup, *level, *confirm); err != nil {
		return err
	}
	cat, err := catalog.Load(catalogs...)
	if err != nil {
		return err
	}
	loopback, err := server.Loopback(*addr)
	jobs := sagemaker.JobOptions{
		Catalog:           cat,
		MaxConcurrentJobs: *maxJobs,
		Tuning:            recommend.Tuning{Warmup: *warmup, Level: *level, Confirm: *confirm},
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var creds map[string]api.Credential
	if *credFile != "" {
		if creds, err = readCredentials(*credFile); err != nil {
			return err
		}
	} else if !loopback {
		return fmt.Errorf("%w: refusing to listen on %s without --credentials: without them any request is accepted, "+
			"so only loopback addresses (127.0.0.1, [::1], localhost) are allowed", errUsage, *addr)
	}

	log := newLogger(cio.stderr, *verbose)
	srv, err := server.New(ctx, server.Config{DataDir: *dataDir, Credentials: creds, PublicMetrics: *publicMetrics, Logger: log,
		Version: buildVersion(), Jobs: jobs, Hosting: sagemaker.HostingOptions{InstanceQuota: *quota}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), srv.Close())
	}
	fmt.Fprintf(cio.stdout, "listening on %s\n", ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "data_dir", *dataDir, "verify_signatures", creds != nil)
	err = srv.Serve(ctx, ln)
	return errors.Join(err, srv.Close())
}

// readCredentials reads a credentials file (see serveSynopsis).
func readCredentials(path string) (map[string]api.Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	defer f.Close()
	creds, err := server.ParseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return creds, nil
}

func init() {
	register(command{
		name:    "version",
		summary: "print the version of inferscale (also --version)",
		run:     runVersion,
	})
}

func runVersion(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	v := buildVersion()
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" && !strings.Contains(v, rev[:min(12, len(rev))]) {
			v += " (commit " + rev
			if modified == "true" {
				v += ", modified"
			}
			v += ")"
		}
	}
	fmt.Fprintf(cio.stdout, "inferscale %s\n", v)
	return nil
}

// buildVersion is the module version the binary was built from.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
