// Package app is the control plane's composition root: it loads the
// configuration, builds the fleet registry, the gRPC endpoint the workers
// dial and the HTTP API (plain and HTTPS), and runs them together. It also
// owns reloads: a new configuration is parsed and validated in full, then
// only what changed is applied, and the old one stays on any failure.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"tidecast.dev/controlplane/internal/basicauth"
	"tidecast.dev/controlplane/internal/certreload"
	"tidecast.dev/controlplane/internal/config"
	"tidecast.dev/controlplane/internal/fleet"
	"tidecast.dev/controlplane/internal/grpcserver"
	"tidecast.dev/controlplane/internal/httpapi"
	"tidecast.dev/controlplane/internal/sysstats"
)

// Version is the control plane's release.
const Version = "0.1.0"

//go:embed default.conf
var defaultConfig []byte

// Options say where the configuration comes from.
type Options struct {
	// ConfigFile is the SRS-format file; empty means the embedded default.
	ConfigFile string
	// EnvOnly configures from SRS_* variables alone.
	EnvOnly bool
	Getenv  func(string) string
	Logger  *slog.Logger
	// LogLevel, when set, is adjusted by reloads (srs_log_level).
	LogLevel *slog.LevelVar
}

// LoadConfig reads the configuration as New and reloads do.
func LoadConfig(o Options) (*config.Config, error) {
	lo := config.LoadOptions{File: o.ConfigFile, EnvOnly: o.EnvOnly, Getenv: o.Getenv}
	if o.ConfigFile == "" && !o.EnvOnly {
		lo.File = "default.conf"
		lo.ReadFile = func(name string) ([]byte, error) {
			if name == "default.conf" {
				return defaultConfig, nil
			}
			return os.ReadFile(name)
		}
	}
	cfg, err := config.Load(lo)
	if err != nil {
		return nil, err
	}
	if !basicauth.ValidHash(cfg.HTTPAPI.Auth.Password.Reveal()) {
		return nil, &config.Error{Directive: "http_api.auth.password", Msg: "not a valid bcrypt hash after " + basicauth.HashPrefix}
	}
	return cfg, nil
}

// App is one running control-plane replica.
type App struct {
	opts     Options
	log      *slog.Logger
	cfg      atomic.Pointer[config.Config]
	settings atomic.Pointer[httpapi.Settings]
	policy   atomic.Pointer[basicauth.Policy]
	registry *fleet.Registry
	fleet    *grpcserver.Server
	stats    *sysstats.Sampler
	auth     *basicauth.Checker
	cert     *certreload.Loader // nil without HTTPS
	api      *httpapi.API
	reloads  *reloader

	fleetListener, apiListener, httpsListener net.Listener
	exporterListener                          net.Listener // exporter.listen, when the exporter is enabled
	servers                                   []*http.Server
}

// New builds a replica from a configuration LoadConfig returned for o, and
// opens the listeners, so that a bad certificate or a busy port fails
// before anything runs.
func New(o Options, cfg *config.Config) (a *App, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	server, err := serverID(cfg.ServerID, cfg.PidFile)
	if err != nil {
		return nil, fmt.Errorf("reading the server id: %w", err)
	}
	a = &App{
		opts:     o,
		log:      log,
		registry: fleet.New(cfg.Fleet.ExpireAfter, nil),
		stats:    sysstats.NewWith(sysstats.Config{Logger: log}),
		auth:     basicauth.New(cfg.HTTPAPI.Auth.Username, cfg.HTTPAPI.Auth.Password.Reveal()),
	}
	a.reloads = newReloader(a.reload)
	a.store(cfg)
	identity := httpapi.ClusterIdentity(server)
	fleetTLS, err := fleetTLSConfig(cfg.Fleet.TLS)
	if err != nil {
		return nil, err
	}
	a.fleet = grpcserver.New(grpcserver.Config{
		Token:     cfg.Fleet.Token.Reveal(),
		TLS:       fleetTLS,
		PingEvery: cfg.Fleet.PingInterval,
	}, a.registry, log)
	a.fleet.SetWorkerConfig(cfg)
	if cfg.Fleet.Token == "" {
		log.Warn("fleet token not set: only workers on this machine are accepted")
	}
	a.api = httpapi.New(httpapi.Options{
		Fleet:      fleetAPI{a.registry, a.fleet},
		Identity:   func() httpapi.Identity { return identity },
		Settings:   func() httpapi.Settings { return *a.settings.Load() },
		Raw:        a.reloads,
		Stats:      a.stats,
		Product:    httpapi.Product{Name: "tidecast", Version: Version},
		Middleware: []func(http.Handler) http.Handler{basicauth.Middleware(a.auth, func() basicauth.Policy { return *a.policy.Load() })},
		Logger:     log,
	})

	defer func(a *App) { // a, not the named result, which is nil on failure
		if err != nil {
			a.Close()
		}
	}(a)
	if cfg.HTTPAPI.HTTPS.Enabled {
		if a.cert, err = certreload.New(cfg.HTTPAPI.HTTPS.Cert, cfg.HTTPAPI.HTTPS.Key); err != nil {
			return nil, fmt.Errorf("http_api.https: %w", err)
		}
	}
	if a.fleetListener, err = net.Listen("tcp", listenAddr(cfg.Fleet.Listen)); err != nil {
		return nil, fmt.Errorf("fleet.listen: %w", err)
	}
	if cfg.HTTPAPI.Enabled {
		if a.apiListener, err = net.Listen("tcp", listenAddr(cfg.HTTPAPI.Listen)); err != nil {
			return nil, fmt.Errorf("http_api.listen: %w", err)
		}
	}
	if a.cert != nil {
		if a.httpsListener, err = net.Listen("tcp", listenAddr(cfg.HTTPAPI.HTTPS.Listen)); err != nil {
			return nil, fmt.Errorf("http_api.https.listen: %w", err)
		}
	}
	if cfg.Exporter.Enabled {
		if a.exporterListener, err = net.Listen("tcp", listenAddr(cfg.Exporter.Listen)); err != nil {
			return nil, fmt.Errorf("exporter.listen: %w", err)
		}
	}
	return a, nil
}

// fleetTLSConfig secures the workers' endpoint; with a client CA, workers
// must present a certificate it signed (mutual TLS).
func fleetTLSConfig(c config.FleetTLS) (*tls.Config, error) {
	if !c.Enabled {
		return nil, nil
	}
	cert, err := certreload.New(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("fleet.tls: %w", err)
	}
	tc := cert.TLSConfig()
	if c.ClientCA != "" {
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("fleet.tls.client_ca: %w", err)
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fleet.tls.client_ca: no certificate in %q", c.ClientCA)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// store makes cfg the one in force for everything read per request.
func (a *App) store(cfg *config.Config) {
	a.cfg.Store(cfg)
	a.settings.Store(apiSettings(cfg))
	a.policy.Store(&basicauth.Policy{Enabled: cfg.HTTPAPI.Auth.Enabled, JSONP: cfg.HTTPAPI.Auth.JSONP})
}

// apiSettings picks what the HTTP API follows out of the configuration;
// credentials are not among them.
func apiSettings(cfg *config.Config) *httpapi.Settings {
	s := &httpapi.Settings{
		Crossdomain: cfg.HTTPServer.Crossdomain,
		HTTPAPI: httpapi.HTTPAPISettings{
			Enabled:     cfg.HTTPAPI.Enabled,
			Listen:      cfg.HTTPAPI.Listen,
			Crossdomain: cfg.HTTPAPI.Crossdomain,
			RawAPI:      httpapi.RawAPISettings{Enabled: cfg.HTTPAPI.RawAPI.Enabled, AllowReload: cfg.HTTPAPI.RawAPI.AllowReload},
		},
		Exporter: httpapi.ExporterSettings{Enabled: cfg.Exporter.Enabled, Label: cfg.Exporter.Label, Tag: cfg.Exporter.Tag},
	}
	for _, v := range cfg.Vhosts {
		s.Vhosts = append(s.Vhosts, httpapi.VhostSettings{Name: v.Name, Enabled: v.Enabled})
	}
	return s
}

// fleetAPI joins the registry's view and the gRPC server's commands.
type fleetAPI struct {
	reg *fleet.Registry
	srv *grpcserver.Server
}

func (f fleetAPI) View() *fleet.View                               { return f.reg.View() }
func (f fleetAPI) Kick(ctx context.Context, clientID string) error { return f.srv.Kick(ctx, clientID) }

// listenAddr turns SRS's "[ip:]port" into a Go listen address.
func listenAddr(l string) string {
	if _, _, err := net.SplitHostPort(l); err == nil {
		return l
	}
	return ":" + l
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// FleetAddr is the address workers dial.
func (a *App) FleetAddr() string { return addrOf(a.fleetListener) }

// APIAddr is the HTTP API's address, empty when it is disabled.
func (a *App) APIAddr() string { return addrOf(a.apiListener) }

// HTTPSAddr is the HTTPS API's address, empty when it is disabled.
func (a *App) HTTPSAddr() string { return addrOf(a.httpsListener) }

// ExporterAddr is the exporter's address, empty when it is disabled.
func (a *App) ExporterAddr() string { return addrOf(a.exporterListener) }

// metricsOnly serves the API's /metrics and nothing else, for the
// exporter's port. SRS serves its whole API there; the exporter's port is
// the one opened to scrapers, so the API (kick, reload) stays on its own
// ports.
func metricsOnly(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// Reload asks for a configuration reload, as SIGHUP does; it runs in the
// background and LastReload tells how it went.
func (a *App) Reload() error { return a.reloads.Reload() }

// LastReload reports the latest reload.
func (a *App) LastReload() httpapi.ReloadStatus { return a.reloads.LastReload() }

// Run serves until ctx ends, then shuts down within a few seconds.
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.stats.Run(gctx, time.Second) })
	g.Go(func() error { return a.fleet.Serve(a.fleetListener) })
	g.Go(func() error { a.expireLoop(gctx); return nil })
	g.Go(func() error { a.reloads.run(gctx); return nil })
	a.log.Info("fleet endpoint listening", "addr", a.FleetAddr())
	serve := func(l net.Listener, handler http.Handler, tlsConfig *tls.Config, what string) {
		srv := &http.Server{
			Handler:           handler,
			TLSConfig:         tlsConfig,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       15 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		}
		a.servers = append(a.servers, srv)
		g.Go(func() error {
			var err error
			if tlsConfig != nil {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		})
		a.log.Info(what+" listening", "addr", l.Addr().String())
	}
	if a.apiListener != nil {
		serve(a.apiListener, a.api.Handler(), nil, "http api")
	}
	if a.httpsListener != nil {
		serve(a.httpsListener, a.api.Handler(), a.cert.TLSConfig(), "https api")
	}
	if a.exporterListener != nil {
		serve(a.exporterListener, metricsOnly(a.api.Handler()), nil, "exporter")
	}
	g.Go(func() error {
		<-gctx.Done()
		a.shutdown()
		return nil
	})
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// shutdown stops the API servers and the workers' sessions together, giving
// requests in flight a few seconds; a connection that never sent a request
// does not hold it up longer than that.
func (a *App) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range a.servers {
		wg.Go(func() {
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
		})
	}
	wg.Go(func() { a.fleet.Stop(ctx) })
	wg.Wait()
}

// Close releases the listeners of an App whose Run was never called; Run
// releases everything itself when it returns.
func (a *App) Close() error {
	var err error
	for _, l := range []net.Listener{a.fleetListener, a.apiListener, a.httpsListener, a.exporterListener} {
		if l != nil {
			err = errors.Join(err, l.Close())
		}
	}
	return err
}

func (a *App) expireLoop(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := a.registry.Expire(); n > 0 {
				a.log.Info("expired silent workers", "count", n)
			}
		}
	}
}
