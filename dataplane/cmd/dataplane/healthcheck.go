package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// healthcheck is the container health probe (images have no shell): the
// worker is healthy when its RTMP port accepts connections.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dataplane healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := getenv("DATAPLANE_RTMP_LISTEN")
	if def == "" {
		def = ":1935"
	}
	listen := fs.String("rtmp-listen", def, "the worker's RTMP listen address (env DATAPLANE_RTMP_LISTEN)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addr := splitList(*listen)
	if len(addr) == 0 {
		return fmt.Errorf("no RTMP listen address")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", localAddr(addr[0]))
	if err != nil {
		return fmt.Errorf("rtmp: %w", err)
	}
	conn.Close()
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
