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
	"log/slog"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"tidecast.dev/dataplane/internal/cpclient"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/nodestats"
	"tidecast.dev/dataplane/internal/registry"
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
	// RTMP port; by default the listen addresses, with the host name filled
	// in for a wildcard host.
	AdvertiseRTMP   []string
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
	cp       *cpclient.Client
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
	cp, err := cpclient.New(cpclient.Config{
		Targets:      cfg.ControlPlanes,
		Token:        cfg.Token,
		TLS:          cfg.TLS,
		ResolveEvery: cfg.ResolveEvery,
		Hello: cpclient.Hello{
			NodeID:      cfg.NodeID,
			BootID:      newBootID(),
			Version:     Version,
			RTMPAddrs:   cfg.AdvertiseRTMP,
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
		return nil, err
	}
	a.cp = cp
	return a, nil
}

// Run serves until ctx ends or a component fails.
func (a *App) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { a.stats.Run(ctx, time.Second); return nil })
	g.Go(func() error { return a.cp.Run(ctx) })
	a.log.Info("data plane running", "node", a.cfg.NodeID, "control_planes", a.cfg.ControlPlanes)
	return g.Wait()
}

// ControlPlanesConnected lists the control-plane addresses with an open
// session.
func (a *App) ControlPlanesConnected() []string { return a.cp.Connected() }

func (a *App) apply(s media.Settings) {
	a.log.Info("new settings from the control plane", "version", s.Version, "rtmp_listen", s.RTMPListen)
}

func newBootID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
