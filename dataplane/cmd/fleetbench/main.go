// Command fleetbench measures the path between the two planes on loopback,
// against running binaries (scripts/bench.d/fleet.sh starts them):
//
//	fleetbench freshness  how long until an RTMP client that just connected
//	                      shows in the control plane's client list
//	fleetbench kick       how long a kick through the API takes to close the
//	                      client's socket, and whether anything else closes
//	fleetbench scale      what one control plane costs for a fleet of fake
//	                      workers speaking the real protocol
//
// Figures go to stdout, one "name<TAB>value" line each; progress and
// failures go to stderr. The exit status is 1 when a check failed (a kick
// not answered 0, a collateral disconnect, a process gone, a target
// missed where the mode checks one), so a script notices.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fleetbench:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: fleetbench freshness|kick|scale [flags]   (fleetbench MODE -h lists its flags)`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	out := &reporter{w: stdout, log: stderr}
	switch args[0] {
	case "freshness":
		return runFreshness(ctx, args[1:], out)
	case "kick":
		return runKick(ctx, args[1:], out)
	case "scale":
		return runScale(ctx, args[1:], out)
	default:
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
}

// reporter prints figures on stdout and progress on stderr.
type reporter struct {
	w, log io.Writer
}

func (r *reporter) figure(name, format string, args ...any) {
	fmt.Fprintf(r.w, "%s\t%s\n", name, fmt.Sprintf(format, args...))
}

func (r *reporter) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "fleetbench: "+format+"\n", args...)
}
