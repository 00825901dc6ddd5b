// Command apibench holds the helpers of the HTTP API benchmark
// (scripts/bench.d/api.sh):
//
//	apibench serve [-listen 127.0.0.1:0] -content-type TYPE PATH=FILE...
//
// runs the reference the API is measured against: a bare net/http server
// answering GET PATH (any query) with FILE's bytes, read once, and TYPE as
// Content-Type; anything else is 404. It prints "listening ADDR" once it
// accepts connections, and stops on SIGINT or SIGTERM.
//
//	apibench bcrypt [-cost 10] PASSWORD
//
// prints PASSWORD's bcrypt hash, to configure as
// `password "bcrypt:<hash>";` in http_api.auth.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "apibench:", err)
		}
		os.Exit(1)
	}
}

const usage = "usage: apibench serve [-listen ADDR] -content-type TYPE PATH=FILE... | apibench bcrypt [-cost N] PASSWORD"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "bcrypt":
		return hash(args[1:], stdout, stderr)
	}
	return errors.New(usage)
}

// serve is the bare reference server.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apibench serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	contentType := fs.String("content-type", "", "Content-Type of every answer (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *contentType == "" || fs.NArg() == 0 {
		return errors.New("want -content-type and at least one PATH=FILE")
	}
	bodies := map[string][]byte{}
	for _, a := range fs.Args() {
		path, file, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(path, "/") {
			return fmt.Errorf("%q: want PATH=FILE", a)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		bodies[path] = b
	}
	ct := []string{*contentType}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header()["Content-Type"] = ct
		w.Write(body)
	})

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(stdout, "listening", l.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hash prints a password's bcrypt hash.
func hash(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apibench bcrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cost := fs.Int("cost", bcrypt.DefaultCost, "bcrypt cost")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("want one PASSWORD")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(fs.Arg(0)), *cost)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(h))
	return err
}
