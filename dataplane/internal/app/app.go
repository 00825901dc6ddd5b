// Package app is the data plane's composition root: it builds the stats
// registry, the node-stats sampler, the media servers and the control-plane
// client, and runs them together.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"tidecast.dev/dataplane/internal/cpclient"
	"tidecast.dev/dataplane/internal/httpflv"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/nodestats"
	"tidecast.dev/dataplane/internal/registry"
	"tidecast.dev/dataplane/internal/rtmp/server"
	"tidecast.dev/dataplane/internal/statussock"
)

// Version is the data plane's release.
const Version = "0.1.0"

// Config is what a worker boots with; everything else comes from the
// control plane.
type Config struct {
	NodeID        string
	ControlPlanes []string // host:port; a name may resolve to several replicas
	Token         string
	// TLS secures the control-plane sessions (nil: plaintext).
	TLS          *tls.Config
	RTMPListen   []string // [ip:]port
	WebRTCListen string   // UDP [ip:]port
	// AdvertiseRTMP are the addresses clients use to reach this worker's
	// RTMP port; by default the bound listen addresses, with the node id
	// (normally the host name) for a wildcard host.
	AdvertiseRTMP []string
	// HTTPListen are the HTTP-FLV listen addresses until the control
	// plane's config arrives (none: off until then); AdvertiseHTTP as
	// AdvertiseRTMP.
	HTTPListen      []string
	AdvertiseHTTP   []string
	AdvertiseWebRTC []string
	ResolveEvery    time.Duration
	Logger          *slog.Logger
}

// App is one running worker.
type App struct {
	cfg      Config
	log      *slog.Logger
	registry *registry.Registry
	stats    *nodestats.Sampler
	hub      *hub.Hub
	rtmp     *server.Server
	httpflv  *httpflv.Server
	cp       *cpclient.Client
	status   *statussock.Server // nil where the OS has no abstract sockets
}

// New builds the worker. It fails fast on bad configuration.
func New(cfg Config) (*App, error) {
	if cfg.NodeID == "" {
		return nil, errors.New("node id is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: log, registry: registry.New(nil), stats: nodestats.New()}
	a.hub = hub.New(a.registry, hub.Options{Logger: log.With("component", "hub")})
	rtmp, err := server.New(server.Settings{Listen: cfg.RTMPListen}, a.hub, a.registry, log)
	if err != nil {
		return nil, fmt.Errorf("rtmp: %w", err)
	}
	a.rtmp = rtmp
	if a.httpflv, err = httpflv.New(httpflv.Settings{Listen: cfg.HTTPListen}, a.hub, a.registry, log); err != nil {
		rtmp.Close()
		return nil, fmt.Errorf("http-flv: %w", err)
	}
	cp, err := cpclient.New(cpclient.Config{
		Targets:      cfg.ControlPlanes,
		Token:        cfg.Token,
		TLS:          cfg.TLS,
		ResolveEvery: cfg.ResolveEvery,
		Hello: cpclient.Hello{
			NodeID:      cfg.NodeID,
			BootID:      newBootID(),
			Version:     Version,
			RTMPAddrs:   advertised(cfg.AdvertiseRTMP, a.rtmp.Addrs(), cfg.NodeID),
			HTTPAddrs:   advertised(cfg.AdvertiseHTTP, a.httpflv.Addrs(), cfg.NodeID),
			WebRTCAddrs: cfg.AdvertiseWebRTC,
			StartedAt:   time.Now(),
			PID:         os.Getpid(),
		},
	}, cpclient.Deps{
		Registry:  a.registry,
		NodeStats: a.stats.Latest,
		Apply:     a.apply,
		Logger:    log,
	})
	if err != nil {
		a.closeServers()
		return nil, err
	}
	a.cp = cp
	// The health probe asks the worker where RTMP listens now: a pushed
	// config may have moved it.
	status, err := statussock.Listen(cfg.NodeID, a.rtmp.Addrs)
	switch {
	case errors.Is(err, statussock.ErrUnsupported):
		log.Warn("dataplane healthcheck cannot reach this worker", "err", err)
	case err != nil:
		a.closeServers()
		return nil, err
	}
	a.status = status
	return a, nil
}

// closeServers closes the media servers New opened.
func (a *App) closeServers() {
	a.rtmp.Close()
	a.httpflv.Close()
	a.hub.Close()
}

// Run serves until ctx ends or a component fails.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { a.stats.Run(ctx, time.Second); return nil })
	g.Go(func() error { return a.cp.Run(ctx) })
	g.Go(func() error { return a.rtmp.Run(ctx) })
	g.Go(func() error { return a.httpflv.Run(ctx) })
	if a.status != nil {
		g.Go(func() error { return a.status.Run(ctx) })
	}
	a.log.Info("data plane running", "node", a.cfg.NodeID, "control_planes", a.cfg.ControlPlanes)
	err := g.Wait()
	a.hub.Close() // after the protocol servers closed their sessions
	return err
}

// ControlPlanesConnected lists the control-plane addresses with an open
// session.
func (a *App) ControlPlanesConnected() []string { return a.cp.Connected() }

// RTMPAddrs are the addresses the RTMP server listens on.
func (a *App) RTMPAddrs() []net.Addr { return a.rtmp.Addrs() }

// HTTPAddrs are the addresses the HTTP-FLV server listens on.
func (a *App) HTTPAddrs() []net.Addr { return a.httpflv.Addrs() }

// Registry is the worker's record of its streams and clients.
func (a *App) Registry() *registry.Registry { return a.registry }

// advertised is what the control plane shows as a listener's addresses:
// the configured ones, else the bound ones, with the node id (normally
// the host name) for a wildcard host.
func advertised(configured []string, bound []net.Addr, nodeID string) []string {
	if len(configured) > 0 {
		return configured
	}
	var out []string
	for _, addr := range bound {
		host, port, _ := net.SplitHostPort(addr.String())
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = nodeID
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out
}

// apply takes new settings from the control plane. A failure (a listen
// address that cannot be bound) keeps the previous settings in force.
func (a *App) apply(s media.Settings) error {
	st := server.Settings{
		Listen:         s.RTMPListen,
		ChunkSize:      s.ChunkSize,
		MaxConnections: s.MaxConnections,
		Vhosts:         map[string]server.VhostSettings{},
	}
	if len(st.Listen) == 0 {
		st.Listen = a.cfg.RTMPListen
	}
	hst := httpflv.Settings{MaxConnections: s.MaxConnections, Vhosts: map[string]httpflv.VhostSettings{}}
	if s.HTTPServer.Enabled {
		hst.Listen = []string{s.HTTPServer.Listen}
	}
	for _, v := range s.Vhosts {
		st.Vhosts[v.Name] = server.VhostSettings{Enabled: v.Enabled, GopCache: v.GopCache, MWLatency: v.MWLatency}
		hst.Vhosts[v.Name] = httpflv.VhostSettings{Enabled: v.Enabled, Remux: v.HTTPRemux.Enabled, Mount: v.HTTPRemux.Mount, MWLatency: v.MWLatency}
	}
	err := errors.Join(a.rtmp.Apply(st), a.httpflv.Apply(hst))
	a.cp.Readvertise(advertised(a.cfg.AdvertiseRTMP, a.rtmp.Addrs(), a.cfg.NodeID),
		advertised(a.cfg.AdvertiseHTTP, a.httpflv.Addrs(), a.cfg.NodeID), a.cfg.AdvertiseWebRTC)
	return err
}

func newBootID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
