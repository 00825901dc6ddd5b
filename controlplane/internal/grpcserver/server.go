// Package grpcserver serves the Fleet gRPC service: it authenticates the
// workers' sessions, feeds what they report into the fleet registry, pushes
// configuration to them and carries commands (kicks) to the worker that owns
// the target, waiting for its answer.
package grpcserver

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/controlplane/internal/fleet"
)

// Config configures the server.
type Config struct {
	// Token is the secret workers must present (SetToken changes it).
	// When empty, only workers connecting from a loopback address are
	// accepted.
	Token string
	// TLS, when set, serves TLS; with ClientCAs and RequireAndVerifyClientCert
	// it enforces mutual TLS.
	TLS *tls.Config
	// PingEvery is how often sessions are pinged.
	PingEvery time.Duration
	// HelloTimeout bounds the wait for a new session's Hello.
	HelloTimeout time.Duration
	// CommandTimeout bounds the wait for a worker's answer to a command.
	CommandTimeout time.Duration

	// AuthTimeout bounds the time from accepting a connection to the first
	// authenticated stream on it (TLS and HTTP/2 handshakes included): a
	// connection still unauthenticated then is closed.
	AuthTimeout time.Duration
	// MaxPending caps the connections not yet authenticated; a new one
	// beyond it closes the oldest of them.
	MaxPending int
	// MaxConns caps all connections; a new one beyond it closes the oldest
	// pending one, or is refused when none is pending.
	MaxConns int
}

// Limits of the fleet endpoint; see Config and connguard.go.
const (
	DefaultAuthTimeout = 5 * time.Second
	DefaultMaxPending  = 256
	DefaultMaxConns    = 4096
	// refusedLogEvery is the most often one kind of refusal (connections
	// dropped, sessions refused) is logged.
	refusedLogEvery = 10 * time.Second
)

func (c *Config) setDefaults() {
	if c.PingEvery <= 0 {
		c.PingEvery = time.Second
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 5 * time.Second
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 3 * time.Second
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
}

// Server implements fleetv1.FleetServer.
type Server struct {
	fleetv1.UnimplementedFleetServer

	cfg  Config
	reg  *fleet.Registry
	log  *slog.Logger
	grpc *grpc.Server

	config  atomic.Pointer[fleetv1.Config]
	token   atomic.Pointer[string]
	nextCmd atomic.Uint64

	mu       sync.Mutex
	sessions map[fleet.NodeID]*session // the newest session of each worker

	// conns tracks the connections until they authenticate; refusals
	// bounds the lines logged about sessions refused for their credentials.
	conns    *connTracker
	refusals *rateLog

	// stopping is closed by Stop: session handlers return, so a graceful
	// stop does not wait for streams that never end on their own.
	stopping chan struct{}
	stopOnce sync.Once
}

// New makes a server that feeds reg.
func New(cfg Config, reg *fleet.Registry, log *slog.Logger) *Server {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, reg: reg, log: log.With("component", "grpcserver"), sessions: map[fleet.NodeID]*session{}, stopping: make(chan struct{})}
	s.conns = newConnTracker(cfg.AuthTimeout, cfg.MaxPending, cfg.MaxConns, refusedLogEvery, s.log)
	s.refusals = newRateLog(refusedLogEvery, func(counts map[string]int) {
		s.log.Warn("more worker sessions refused", "in_last", refusedLogEvery, "count", counts[refusedSession])
	})
	s.SetToken(cfg.Token)
	opts := []grpc.ServerOption{
		// A worker's snapshot lists all its clients: 122 bytes a client
		// as fleetbench's fake workers send them (12 MiB for 100,000),
		// about 265 with long page and tcUrl URLs and IPv6 addresses (25
		// MiB). Only an authenticated stream's messages are read.
		grpc.MaxRecvMsgSize(32 << 20),
		// A worker opens one stream on its connection to each replica;
		// the rest is room for a session being replaced.
		grpc.MaxConcurrentStreams(4),
		// A worker's headers are gRPC's own and the token.
		grpc.MaxHeaderListSize(16 << 10),
		// The TLS and HTTP/2 handshakes: a backstop, as the guard
		// (connguard.go) closes a connection not authenticated within
		// AuthTimeout, counting it in its log lines.
		grpc.ConnectionTimeout(cfg.AuthTimeout + time.Second),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			// A worker's connection without a stream is one between two
			// sessions (it retries within a second by default).
			MaxConnectionIdle: 30 * time.Second,
			Time:              10 * time.Second,
			Timeout:           3 * time.Second,
		}),
		// Workers ping every 10 s, with or without a stream
		// (cpclient's keepalive.ClientParameters): a MinTime above that,
		// or PermitWithoutStream false, would have them sent away with
		// "too_many_pings".
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	s.grpc = grpc.NewServer(opts...)
	fleetv1.RegisterFleetServer(s.grpc, s)
	return s
}

// Serve serves lis until Stop. A connection on which no stream has
// authenticated within Config.AuthTimeout is closed, and the connections
// are capped (Config.MaxPending, Config.MaxConns); see connguard.go. The
// connections are told apart by their addresses: lis is a TCP listener.
func (s *Server) Serve(lis net.Listener) error {
	if err := s.grpc.Serve(s.conns.listener(lis)); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// Stop ends every session (workers see Unavailable and reconnect to
// another replica) and waits for their handlers; after ctx ends the
// transport is closed hard.
func (s *Server) Stop(ctx context.Context) {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.conns.stop()
	s.refusals.stop()
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
}

// setConfig records the configuration workers must run and pushes it to
// every connected worker.
func (s *Server) setConfig(cfg *fleetv1.Config) {
	s.config.Store(cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		sess.enqueue(&fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Config{Config: cfg}})
	}
}

// Kick asks the worker serving clientID to disconnect it and waits for the
// worker's answer.
func (s *Server) Kick(ctx context.Context, clientID string) error {
	node, ok := s.reg.OwnerOf(clientID)
	if !ok {
		return fleet.ErrClientNotFound
	}
	s.mu.Lock()
	sess := s.sessions[node]
	s.mu.Unlock()
	if sess == nil {
		return fleet.ErrWorkerUnreachable
	}
	id := fmt.Sprintf("%d", s.nextCmd.Add(1))
	res, err := sess.command(ctx, id, &fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Kick{
		Kick: &fleetv1.Kick{CommandId: id, ClientId: clientID},
	}}, s.cfg.CommandTimeout)
	if err != nil {
		return err
	}
	switch res.GetCode() {
	case 0:
		return nil
	case fleet.CodeClientNotFound:
		return fleet.ErrClientNotFound
	default:
		return &fleet.Error{Code: int(res.GetCode()), Msg: res.GetMessage()}
	}
}

// SetToken replaces the token new sessions must present; open sessions
// stay.
func (s *Server) SetToken(token string) { s.token.Store(&token) }

// authenticate checks the worker's credentials before anything is read.
func (s *Server) authenticate(ctx context.Context) error {
	token := *s.token.Load()
	if token == "" {
		p, ok := peer.FromContext(ctx)
		if !ok {
			return status.Error(codes.Unauthenticated, "no peer")
		}
		host, _, err := net.SplitHostPort(p.Addr.String())
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return status.Error(codes.Unauthenticated, "no token configured: only loopback workers are accepted")
		}
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		got, ok := strings.CutPrefix(v, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "invalid or missing token")
}

func validateHello(h *fleetv1.Hello) error {
	switch {
	case h == nil:
		return errors.New("first message is not hello")
	case h.GetNodeId() == "" || len(h.GetNodeId()) > 128:
		return errors.New("node id must be 1 to 128 bytes")
	case h.GetBootId() == "" || len(h.GetBootId()) > 64:
		return errors.New("boot id must be 1 to 64 bytes")
	case len(h.GetRtmpAddresses()) > 16 || len(h.GetWebrtcAddresses()) > 16:
		return errors.New("too many advertised addresses")
	}
	return nil
}
