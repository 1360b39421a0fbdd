package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"

	"github.com/inferscale/inferscale/internal/api"
	"github.com/inferscale/inferscale/internal/server"
)

func init() {
	register(command{
		name:    "serve",
		summary: "serve the SageMaker-compatible APIs",
		run:     runServe,
	})
}

const serveSynopsis = `--data-dir DIR [--addr HOST:PORT] [--credentials FILE] [-v]

Serves the AWS APIs inferscale speaks (SageMaker models, model packages and
groups, tags) on one listener, with /healthz and Prometheus /metrics, and
keeps their state in DIR/` + server.DatabaseFile + `. Point any AWS client at it:

  aws --endpoint-url http://127.0.0.1:8686 sagemaker list-models

Without --credentials, any signature is accepted (the access key picks no
account: everything is in account ` + api.DefaultAccount + `), so the server only
listens on loopback addresses. With --credentials FILE, SigV4 signatures are
verified against FILE, one access key per line:

  # ACCESS_KEY SECRET_KEY [ACCOUNT]
  AKIDTEAMA   s3cr3t-a   111122223333
  AKIDTEAMB   s3cr3t-b

(ACCOUNT is 12 digits, ` + api.DefaultAccount + ` when omitted.) The address
actually listened on is printed as "listening on HOST:PORT", so port 0 picks
a free port. SIGTERM or SIGINT shuts down gracefully.`

func runServe(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "serve", serveSynopsis)
	addr := fs.String("addr", "127.0.0.1:8686", "listen `address` (host:port; port 0 picks a free one)")
	dataDir := fs.String("data-dir", "", "`directory` of the database (created if missing; required)")
	credFile := fs.String("credentials", "", "`file` of access keys whose signatures are verified (see above)")
	verbose := fs.Bool("v", false, "log every request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case *dataDir == "":
		return fmt.Errorf("%w: --data-dir is required", errUsage)
	}
	loopback, err := server.Loopback(*addr)
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
	srv, err := server.New(ctx, server.Config{DataDir: *dataDir, Credentials: creds, Logger: log, Version: buildVersion()})
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

// buildVersion is the module version the binary was built from.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
