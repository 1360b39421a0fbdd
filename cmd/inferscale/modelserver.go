package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/inferscale/inferscale/internal/modelserver"
)

func init() {
	register(command{
		name:    "model-server",
		summary: "run the sample model server (SageMaker container contract)",
		run:     runModelServer,
	})
}

const modelServerUsage = `usage: inferscale model-server serve [-v]

Serves GET /ping and POST /invocations (or, in multi-model mode, the /models routes) on $` + modelserver.EnvBindHost + ` (default ` + modelserver.DefaultHost + `)
and $` + modelserver.EnvPort + ` (default 8080; 0 picks a free port) until SIGTERM or SIGINT,
then lets in-flight requests finish. The model is configured by the environment:

  ` + modelserver.EnvModel + `                   mlp (default) or reference
  ` + modelserver.EnvSetupDelay + `             simulated download time before loading, e.g. 5s
  ` + modelserver.EnvModelDir + `                       model directory (default /opt/ml/model); model.json there holds MLP weights
  ` + modelserver.EnvWorkers + `     concurrent MLP forward passes (default GOMAXPROCS)
  ` + modelserver.EnvMLPInput + `               values per instance (default 64)
  ` + modelserver.EnvMLPHidden + `              hidden layer widths (default 1024,1024,512)
  ` + modelserver.EnvMLPClasses + `             classes (default 10)
  ` + modelserver.EnvMLPSeed + `                seed of the generated weights (default 1)
  ` + modelserver.EnvRefService + `  reference model's service time (default 20ms)
  ` + modelserver.EnvRefSlots + `         reference model's concurrent slots (default 4)
  ` + modelserver.EnvMultiModel + `              true: SageMaker's multi-model contract (POST/GET /models,
                                     GET/DELETE /models/{name}, POST /models/{name}/invoke)
  ` + modelserver.EnvMaxModels + `              multi-model: most models loaded at once (default 0, no limit)
  ` + modelserver.EnvModelMemory + `            multi-model: bytes of weights loaded at once, e.g. 512MiB (default 0, no limit)
`

// runModelServer runs `inferscale model-server serve`: the sample model
// server, configured from the environment, until ctx is done.
func runModelServer(ctx context.Context, cio cmdIO, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(cio.stdout, modelServerUsage)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(cio.stderr, modelServerUsage)
		if len(args) == 0 {
			return fmt.Errorf("%w: missing the serve argument", errUsage)
		}
		return fmt.Errorf("%w: unknown argument %q, want serve", errUsage, args[0])
	}
	fs := newFlagSet(cio, "model-server serve", "[-v]")
	fs.Usage = func() { fmt.Fprint(fs.Output(), modelServerUsage) }
	verbose := fs.Bool("v", false, "log at debug level")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}

	cfg, err := modelserver.ConfigFromEnv(cio.getenv)
	if err != nil {
		return err
	}
	addr, err := modelserver.ListenAddress(cio.getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Launchers that pass port 0 read the chosen address from this line.
	mode := "model " + string(cfg.Model)
	if cfg.MultiModel {
		mode = "multi-model"
	}
	fmt.Fprintf(cio.stderr, "inferscale model-server: listening on %s (%s)\n", ln.Addr(), mode)
	// Serve returns nil after a graceful shutdown, and an error if the model
	// fails to load, so that a launcher sees the process fail.
	return modelserver.New(cfg, modelServerLogger(cio.stderr, *verbose)).Serve(ctx, ln)
}

// modelServerLogger logs at info level, so that setup and shutdown show in
// a container's log, or at debug level with -v.
func modelServerLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
