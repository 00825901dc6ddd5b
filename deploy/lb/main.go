// Command lb is the small TCP load balancer of the docker-compose
// deployment, which cannot pull nginx or haproxy from a registry: it puts
// every control-plane replica behind one address.
//
// Each backend is host:port; a host name counts as every address it
// resolves to (a compose service name resolves to all of the service's
// running containers) and is resolved again every -resolve-every. Each
// accepted connection goes to the next address in turn; an address that
// refuses or does not answer within -dial-timeout is skipped, and tried
// last for the next -down-for. Bytes are copied both ways, half-closes
// passed on. Balancing is per connection: every control-plane replica
// serves the same view, so a client may use any of them.
//
//	lb [-listen :1985] [-backends controlplane:1985]
//	lb healthcheck [-listen :1985]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lb:", err)
		}
		os.Exit(1)
	}
}

// settings are the command line, each flag with an environment variable
// that sets its default.
type settings struct {
	listen, backends, logLevel               string
	resolveEvery, dialTimeout, downFor, wait time.Duration
}

func parse(name string, args []string, getenv func(string) string, stderr io.Writer) (settings, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(dst *string, flagName, env, def, usage string) {
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(dst, flagName, def, usage+" (env "+env+")")
	}
	dur := func(dst *time.Duration, flagName, env string, def time.Duration, usage string) {
		if v := getenv(env); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				def = d
			}
		}
		fs.DurationVar(dst, flagName, def, usage+" (env "+env+")")
	}
	var s settings
	str(&s.listen, "listen", "LB_LISTEN", ":1985", "TCP address to accept connections on")
	if name == "lb" {
		str(&s.backends, "backends", "LB_BACKENDS", "controlplane:1985", "backend addresses host:port, comma separated; a name counts as every address it resolves to")
		str(&s.logLevel, "log-level", "LB_LOG_LEVEL", "info", "debug, info, warn or error")
		dur(&s.resolveEvery, "resolve-every", "LB_RESOLVE_EVERY", 2*time.Second, "how often backend names are resolved again")
		dur(&s.dialTimeout, "dial-timeout", "LB_DIAL_TIMEOUT", time.Second, "give up on a backend that does not accept within this long")
		dur(&s.downFor, "down-for", "LB_DOWN_FOR", 5*time.Second, "try a backend that failed last, for this long")
	} else {
		fs.DurationVar(&s.wait, "timeout", 3*time.Second, "give up after this long")
	}
	err := fs.Parse(args)
	return s, fs, err
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	}
	s, fs, err := parse("lb", args, getenv, stderr)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	b, err := newBalancer(splitList(s.backends), log)
	if err != nil {
		return err
	}
	b.dialTimeout, b.downFor = s.dialTimeout, s.downFor
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return err
	}
	log.Info("lb listening", "addr", ln.Addr().String(), "backends", b.targets)
	return b.serve(ctx, ln, s.resolveEvery)
}

// healthcheck is the container health probe (the image has no shell): the
// balancer is healthy when its port accepts connections.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, _, err := parse("lb healthcheck", args, getenv, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.wait)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", localAddr(s.listen))
	if err != nil {
		return err
	}
	conn.Close()
	fmt.Fprintln(stdout, "healthy")
	return nil
}

// balancer hands connections to backends in turn.
type balancer struct {
	targets     []string
	lookup      func(ctx context.Context, host string) ([]string, error)
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	dialTimeout time.Duration
	downFor     time.Duration
	log         *slog.Logger

	next atomic.Uint64

	mu    sync.Mutex
	addrs []string             // every backend address, sorted
	known map[string][]string  // target → its last good resolution
	down  map[string]time.Time // address → tried last until
}

func newBalancer(targets []string, log *slog.Logger) (*balancer, error) {
	if len(targets) == 0 {
		return nil, errors.New("no backend")
	}
	for _, t := range targets {
		if _, _, err := net.SplitHostPort(t); err != nil {
			return nil, fmt.Errorf("backend %q: %w", t, err)
		}
	}
	var d net.Dialer
	return &balancer{
		targets: targets, lookup: net.DefaultResolver.LookupHost, dial: d.DialContext,
		dialTimeout: time.Second, downFor: 5 * time.Second, log: log,
		known: map[string][]string{}, down: map[string]time.Time{},
	}, nil
}

// resolve refreshes the backend addresses. A name that does not exist
// (a service with no running container) has none; on any other failure
// the last good resolution is kept.
func (b *balancer) resolve(ctx context.Context) {
	var all []string
	for _, t := range b.targets {
		host, port, _ := net.SplitHostPort(t)
		if net.ParseIP(host) != nil {
			all = append(all, t)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ips, err := b.lookup(rctx, host)
		cancel()
		var dnsErr *net.DNSError
		switch {
		case err == nil:
			addrs := make([]string, 0, len(ips))
			for _, ip := range ips {
				addrs = append(addrs, net.JoinHostPort(ip, port))
			}
			b.known[t] = addrs
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			b.known[t] = nil
		default:
			if ctx.Err() == nil {
				b.log.Warn("resolving backend", "backend", t, "err", err)
			}
		}
		all = append(all, b.known[t]...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	b.mu.Lock()
	changed := !slices.Equal(all, b.addrs)
	b.addrs = all
	b.mu.Unlock()
	if changed {
		b.log.Info("backends", "addrs", all)
	}
}

// candidates is the order to try the backends in for one connection: the
// next in turn first, those that failed recently last.
func (b *balancer) candidates(now time.Time) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.addrs)
	if n == 0 {
		return nil
	}
	first := int(b.next.Add(1)-1) % n
	var up, down []string
	for i := range n {
		a := b.addrs[(first+i)%n]
		if until, ok := b.down[a]; ok && now.Before(until) {
			down = append(down, a)
		} else {
			up = append(up, a)
		}
	}
	return append(up, down...)
}

func (b *balancer) failed(addr string, err error) {
	b.mu.Lock()
	_, was := b.down[addr]
	b.down[addr] = time.Now().Add(b.downFor)
	b.mu.Unlock()
	if !was {
		b.log.Warn("backend failed", "addr", addr, "err", err)
	}
}

func (b *balancer) answered(addr string) {
	b.mu.Lock()
	_, was := b.down[addr]
	delete(b.down, addr)
	b.mu.Unlock()
	if was {
		b.log.Info("backend back", "addr", addr)
	}
}

// serve accepts until ctx ends, then closes every connection it carries.
func (b *balancer) serve(ctx context.Context, ln net.Listener, resolveEvery time.Duration) error {
	b.resolve(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		tick := time.NewTicker(resolveEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				b.resolve(ctx)
			}
		}
	})
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			b.log.Warn("accept", "err", err) // e.g. out of file descriptors
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		wg.Go(func() { b.handle(ctx, c) })
	}
}

// handle connects one client to the first backend that accepts.
func (b *balancer) handle(ctx context.Context, client net.Conn) {
	for _, addr := range b.candidates(time.Now()) {
		dctx, cancel := context.WithTimeout(ctx, b.dialTimeout)
		backend, err := b.dial(dctx, "tcp", addr)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			b.failed(addr, err)
			continue
		}
		b.answered(addr)
		b.log.Debug("connection", "client", client.RemoteAddr().String(), "backend", addr)
		splice(ctx, client, backend)
		return
	}
	if ctx.Err() == nil {
		b.log.Warn("no backend accepted a connection", "client", client.RemoteAddr().String())
	}
	client.Close()
}

// splice copies both ways until both sides are done, passing a half-close
// on; an error either way, or ctx ending, closes both connections.
func splice(ctx context.Context, a, b net.Conn) {
	closeBoth := func() { a.Close(); b.Close() }
	stop := context.AfterFunc(ctx, closeBoth)
	defer stop()
	defer closeBoth()
	done := make(chan struct{})
	copyHalf := func(dst, src net.Conn) {
		if _, err := io.Copy(dst, src); err != nil {
			closeBoth()
			return
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); !ok || cw.CloseWrite() != nil {
			closeBoth()
		}
	}
	go func() {
		defer close(done)
		copyHalf(b, a)
	}()
	copyHalf(a, b)
	<-done
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
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
