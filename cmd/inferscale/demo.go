package main

import (
	"context"
	"fmt"
)

func init() {
	register(command{
		name:    "demo",
		summary: "recommend an instance type for the built-in sample model, end to end on this host",
		run:     runDemo,
	})
}

// runDemo is the main job on the embedded default: the sample model server
// on local instances, a Default job over three priced instance types this
// host can run, the ranked table and the scaling configuration of the best.
func runDemo(ctx context.Context, cio cmdIO, args []string) error {
	fs := newFlagSet(cio, "demo", "[flags]")
	var f recommendFlags
	f.register(fs)
	f.scaling = true
	fs.Lookup("scaling").DefValue = "true"
	fs.Lookup("job-name").Usage = "job name (default inferscale-demo)"
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	f.set = setFlags(fs)
	f.defaultJobName = "inferscale-demo"
	if err := f.check(); err != nil {
		return err
	}
	if f.output == "text" {
		fmt.Fprintln(cio.stdout, "inferscale demo: benchmarking the built-in sample model (an MLP classifier) on local instances.")
		fmt.Fprintln(cio.stdout, "Each instance type runs as a real process pinned to as many CPUs as the type has; a Default")
		fmt.Fprintln(cio.stdout, "job ramps the load until throughput levels off, then confirms it with an open-loop run.")
		fmt.Fprintln(cio.stdout)
	}
	return recommendMain(ctx, cio, f)
}
