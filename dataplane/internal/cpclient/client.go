// Package cpclient keeps the worker connected to every control-plane
// replica: one gRPC Session stream per replica address, each fed with a
// snapshot of the registry and then its events, samples and node stats, and
// each taking configuration and commands back.
//
// The worker never waits on the control plane: with no replica reachable it
// keeps serving media with the last settings it received, and each session
// reconnects on its own with capped exponential backoff and jitter.
package cpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/nodestats"
	"tidecast.dev/dataplane/internal/registry"
)

// Hello is how the worker introduces itself.
type Hello struct {
	NodeID      string
	BootID      string
	Version     string
	RTMPAddrs   []string
	HTTPAddrs   []string // HTTP server (HTTP-FLV), host:port; none when it is off
	WebRTCAddrs []string
	StartedAt   time.Time
	PID         int
}

// Config configures the client.
type Config struct {
	// Targets are control-plane addresses, host:port. A host name stands for
	// every address it resolves to: each is a replica and gets a session.
	Targets []string
	// Token is presented to the control plane on every session.
	Token string
	// TLS, when set, secures the sessions (and may carry a client
	// certificate for mutual TLS).
	TLS *tls.Config
	// ResolveEvery is how often host names are resolved again.
	ResolveEvery time.Duration
	// SampleEvery is how often counters and node stats are sent.
	SampleEvery time.Duration
	// MaxBackoff caps the wait between two attempts to open a session.
	MaxBackoff time.Duration
	// EventQueue is how many events a session may lag behind before it
	// falls back to a snapshot.
	EventQueue int
	Hello      Hello
	// LookupHost resolves a target's host name (nil: the system resolver).
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

func (c *Config) setDefaults() {
	if c.ResolveEvery <= 0 {
		c.ResolveEvery = 5 * time.Second
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Second
	}
	if c.EventQueue <= 0 {
		c.EventQueue = 4096
	}
	if c.LookupHost == nil {
		c.LookupHost = net.DefaultResolver.LookupHost
	}
}

// Registry is what the client reads from and commands on the worker.
type Registry interface {
	Subscribe(queue int) (*registry.Subscription, registry.Snapshot)
	Sample() registry.Samples
	Kick(media.ClientID) error
	Clients() int
}

// Deps are the client's collaborators.
type Deps struct {
	Registry Registry
	// NodeStats returns the latest host and process figures.
	NodeStats func() nodestats.Stats
	// Apply is called with every new configuration (a version not seen
	// before), one call at a time. A version that failed is tried again
	// when a control plane sends it again.
	Apply  func(media.Settings) error
	Logger *slog.Logger
}

// Client owns one session per resolved control-plane address.
type Client struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	applyMu sync.Mutex
	applied uint64 // config version in force

	mu        sync.Mutex
	connected map[string]bool // address → session established
	hello     Hello
	// helloChanged is closed (and replaced) when hello changes, so every
	// session sends it again.
	helloChanged chan struct{}
}

// New checks the configuration and makes a client; Run starts it.
func New(cfg Config, deps Deps) (*Client, error) {
	cfg.setDefaults()
	if len(cfg.Targets) == 0 {
		return nil, errors.New("cpclient: no control-plane address")
	}
	for _, t := range cfg.Targets {
		if _, _, err := net.SplitHostPort(t); err != nil {
			return nil, fmt.Errorf("cpclient: control-plane address %q: %w", t, err)
		}
	}
	if cfg.Hello.NodeID == "" || cfg.Hello.BootID == "" {
		return nil, errors.New("cpclient: node id and boot id are required")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		cfg: cfg, deps: deps, log: log.With("component", "cpclient"),
		connected: map[string]bool{}, hello: cfg.Hello, helloChanged: make(chan struct{}),
	}, nil
}

// Readvertise changes the addresses the control planes show for this
// worker (RTMP, HTTP-FLV, WebRTC; host:port each); open sessions send a
// new Hello. Every call replaces all three lists.
func (c *Client) Readvertise(rtmp, http, webrtc []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Equal(c.hello.RTMPAddrs, rtmp) && slices.Equal(c.hello.HTTPAddrs, http) &&
		slices.Equal(c.hello.WebRTCAddrs, webrtc) {
		return
	}
	c.hello.RTMPAddrs, c.hello.HTTPAddrs, c.hello.WebRTCAddrs = slices.Clone(rtmp), slices.Clone(http), slices.Clone(webrtc)
	close(c.helloChanged)
	c.helloChanged = make(chan struct{})
}

// currentHello returns the hello to send and a channel closed when it
// changes.
func (c *Client) currentHello() (*fleetv1.WorkerMessage, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hello
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{
		NodeId: h.NodeID, BootId: h.BootID, Version: h.Version, RtmpAddresses: h.RTMPAddrs,
		HttpAddresses: h.HTTPAddrs, WebrtcAddresses: h.WebRTCAddrs, StartedAtMs: h.StartedAt.UnixMilli(), Pid: int32(h.PID),
	}}}, c.helloChanged
}

// Connected lists the addresses that currently have an open session.
func (c *Client) Connected() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for a, ok := range c.connected {
		if ok {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

func (c *Client) setConnected(addr string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.connected[addr] = true
	} else {
		delete(c.connected, addr)
	}
}

// Run resolves the targets and keeps a session to every address until ctx
// ends. It returns nil on cancellation.
func (c *Client) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sessions := map[string]context.CancelFunc{}
	defer func() {
		for _, cancel := range sessions {
			cancel()
		}
	}()
	known := map[string][]string{} // target → last good resolution
	tick := time.NewTicker(c.cfg.ResolveEvery)
	defer tick.Stop()
	for {
		want := map[string]bool{}
		for _, t := range c.cfg.Targets {
			addrs, err := resolve(ctx, c.cfg.LookupHost, t)
			if err != nil {
				c.log.Warn("resolving control plane", "target", t, "err", err)
				addrs = known[t] // keep sessions through a DNS hiccup
			} else {
				known[t] = addrs
			}
			for _, a := range addrs {
				want[a] = true
			}
		}
		for addr, cancel := range sessions {
			if !want[addr] {
				c.log.Info("control-plane address gone", "addr", addr)
				cancel()
				delete(sessions, addr)
			}
		}
		for _, addr := range slices.Sorted(maps.Keys(want)) {
			if _, ok := sessions[addr]; ok {
				continue
			}
			sctx, cancel := context.WithCancel(ctx)
			sessions[addr] = cancel
			wg.Go(func() { c.keepSession(sctx, addr) })
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func resolve(ctx context.Context, lookup func(context.Context, string) ([]string, error), target string) ([]string, error) {
	host, port, _ := net.SplitHostPort(target) // checked in New
	if net.ParseIP(host) != nil {
		return []string{target}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ips, err := lookup(rctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.JoinHostPort(ip, port))
	}
	slices.Sort(out)
	return out, nil
}

// keepSession reopens the session to addr until ctx ends.
func (c *Client) keepSession(ctx context.Context, addr string) {
	log := c.log.With("addr", addr)
	creds := insecure.NewCredentials()
	if c.cfg.TLS != nil {
		creds = credentials.NewTLS(c.cfg.TLS)
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(tokenCreds{token: c.cfg.Token, secure: c.cfg.TLS != nil}),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 2, Jitter: 0.2, MaxDelay: c.cfg.MaxBackoff},
			MinConnectTimeout: 2 * time.Second,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 3 * time.Second, PermitWithoutStream: true}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(4<<20)),
	)
	if err != nil { // only for a malformed target, which New ruled out
		log.Error("creating control-plane connection", "err", err)
		return
	}
	defer conn.Close()
	api := fleetv1.NewFleetClient(conn)
	bo := newBackoff(100*time.Millisecond, c.cfg.MaxBackoff)
	lastErr := ""
	for {
		started := time.Now()
		err := c.runSession(ctx, api, addr)
		c.setConnected(addr, false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > 10*time.Second {
			bo.reset()
			lastErr = ""
		}
		wait := bo.next()
		// The same failure over and over is logged once, then at debug.
		level := slog.LevelWarn
		if msg := fmt.Sprint(err); msg == lastErr {
			level = slog.LevelDebug
		} else {
			lastErr = msg
		}
		log.Log(ctx, level, "control-plane session ended", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// tokenCreds attaches the shared token to every call.
type tokenCreds struct {
	token  string
	secure bool
}

func (t tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + t.token}, nil
}

func (t tokenCreds) RequireTransportSecurity() bool { return t.secure }
