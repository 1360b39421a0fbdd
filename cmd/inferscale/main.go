// Command inferscale measures model servers, recommends instance types and
// scaling policies, and serves the SageMaker-compatible APIs. Its
// subcommands only wire packages under internal/ together.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. Each lives in its own file and registers itself
// in an init function, so that files can be added without touching this one.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, io cmdIO, args []string) error
}

// cmdIO carries the process's standard streams and environment, so that
// commands can be run from tests.
type cmdIO struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("inferscale: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error caused by how the command was invoked; main exits
// with status 2 for it.
var errUsage = errors.New("usage")

// signalCause is the cause of the context's cancellation when a signal
// stopped the command.
type signalCause struct{ sig syscall.Signal }

func (c signalCause) Error() string { return "interrupted by " + c.sig.String() }

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		signal.Stop(sigs) // a second signal kills the process as by default
		if s, ok := sig.(syscall.Signal); ok {
			cancel(signalCause{s})
		} else {
			cancel(nil)
		}
	}()
	code := run(ctx, cmdIO{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	signal.Stop(sigs)
	cancel(nil)
	os.Exit(code)
}

// run executes the command named by args[0] and returns the exit status.
// Help asked for goes to stdout with status 0; help shown because of a
// mistake goes to stderr with status 2.
func run(ctx context.Context, cio cmdIO, args []string) int {
	if len(args) == 0 {
		usage(cio.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(cio.stdout)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	case "help":
		if len(args) == 1 {
			usage(cio.stdout)
			return 0
		}
		if _, ok := commands[args[1]]; !ok || len(args) > 2 {
			if len(args) > 2 {
				fmt.Fprintf(cio.stderr, "inferscale help: want one command name, got %q\n\n", args[1:])
			} else {
				fmt.Fprintf(cio.stderr, "inferscale help: unknown command %q\n\n", args[1])
			}
			usage(cio.stderr)
			return 2
		}
		args = []string{args[1], "-h"}
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(cio.stderr, "inferscale: unknown command %q\n\n", args[0])
		usage(cio.stderr)
		return 2
	}
	err := c.run(ctx, cio, args[1:])
	var sig signalCause
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(context.Cause(ctx), &sig):
		// Whatever the command made of it, a signal stopped it: 128+N, as a
		// shell reports a process killed by signal N.
		fmt.Fprintf(cio.stderr, "inferscale %s: %v\n", c.name, err)
		return 128 + int(sig.sig)
	case errors.Is(err, errUsage):
		fmt.Fprintf(cio.stderr, "inferscale %s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(cio.stderr, "inferscale %s: %v\n", c.name, err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: inferscale <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'inferscale help <command>' or 'inferscale <command> -h' for a command's flags,")
	fmt.Fprintln(w, "'inferscale version' for the version.")
}

// flagOutput holds what a flag set prints while parsing until parseFlags
// knows where it belongs: stdout for -h, stderr for a mistake.
type flagOutput struct {
	bytes.Buffer
	stdout, stderr io.Writer
}

// newFlagSet returns a flag set that reports errors instead of exiting.
// Parse it with parseFlags.
func newFlagSet(cio cmdIO, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("inferscale "+name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{stdout: cio.stdout, stderr: cio.stderr})
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: inferscale %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and wraps a parse failure as a usage error. The
// help -h asks for goes to stdout; a parse error and the usage to stderr.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if out, ok := fs.Output().(*flagOutput); ok && out.Len() > 0 {
		w := out.stderr
		if errors.Is(err, flag.ErrHelp) {
			w = out.stdout
		}
		w.Write(out.Bytes())
		out.Reset()
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// newLogger returns a text logger on w at the given level.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
