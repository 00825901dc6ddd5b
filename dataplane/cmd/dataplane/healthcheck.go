package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"tidecast.dev/dataplane/internal/statussock"
)

// healthcheck is the container health probe (images have no shell): the
// worker is healthy when it runs here and every RTMP address it listens on
// accepts connections. It asks the worker for those addresses, since the
// control plane may have moved them since the worker started.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dataplane healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var nodeID string
	nodeIDFlag(&nodeID).define(fs, getenv)
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	addrs, err := statussock.Query(ctx, nodeID)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return errors.New("the worker has no RTMP listener")
	}
	var d net.Dialer
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, "tcp", localAddr(a))
		if err != nil {
			return fmt.Errorf("rtmp: %w", err)
		}
		conn.Close()
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}

// localAddr turns a listen address into one to dial on this host.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = "", listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
