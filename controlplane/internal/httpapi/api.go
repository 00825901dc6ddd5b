package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"tidecast.dev/controlplane/internal/fleet"
	"tidecast.dev/controlplane/internal/sysstats"
)

// Fleet is what the API needs of the fleet: an immutable view to list from
// and a way to disconnect a client.
type Fleet interface {
	// View returns the current picture of the fleet; it is rebuilt only
	// when something changed, and its Version says when.
	View() *fleet.View
	// Kick disconnects a client and returns once its worker answered:
	// fleet.ErrClientNotFound, ErrWorkerTimeout, ErrWorkerUnreachable, or
	// another error carrying the worker's code.
	Kick(ctx context.Context, clientID string) error
}

// Stats gives the control plane's own process and host figures, sampled
// in the background (sysstats.Sampler).
type Stats interface {
	Latest() *sysstats.Sample
}

// RawHandler carries the RAW API's reload commands (/api/v1/raw, §6.18)
// to whoever owns the configuration.
type RawHandler interface {
	// Reload starts a configuration reload and returns without waiting
	// for it, as SRS does; an error means it could not be started.
	Reload() error
	// LastReload reports the most recent reload (rpc=reload-fetch).
	LastReload() ReloadStatus
}

// ReloadStatus is the outcome of a reload, in SRS's terms.
type ReloadStatus struct {
	Err   int    // SRS code of the failure; 0 for success
	Msg   string // "Success", or a summary of the failure
	State int    // the stage reached: 0 init, 10 parsing, 20 checking, 30 applying, 90 finished
	RID   string // id of this reload
}

// Settings are the configuration values the API follows. They are read on
// every request (the app keeps them behind an atomic pointer), so a reload
// takes effect without a restart.
type Settings struct {
	// Crossdomain is http_server.crossdomain: SRS lets it, not
	// http_api.crossdomain, decide CORS and OPTIONS on the API port (§4).
	Crossdomain bool
	HTTPAPI     HTTPAPISettings
	Exporter    ExporterSettings
	// Vhosts are the configured vhosts: they give /vhosts/ its enabled
	// flags, and /clusters resolves a vhost against them.
	Vhosts []VhostSettings
}

// HTTPAPISettings are the parts of http_api that rpc=raw reports. Auth is
// not among them: rpc=raw never shows credentials.
type HTTPAPISettings struct {
	Enabled     bool
	Listen      string
	Crossdomain bool
	RawAPI      RawAPISettings
}

// RawAPISettings is http_api.raw_api. allow_query and allow_update are not
// here: they are always false (see raw.go).
type RawAPISettings struct {
	Enabled     bool
	AllowReload bool
}

// ExporterSettings is the exporter block: /metrics answers only when
// Enabled; Label and Tag label srs_build_info when set.
type ExporterSettings struct {
	Enabled    bool
	Label, Tag string
}

// VhostSettings is one configured vhost.
type VhostSettings struct {
	Name    string
	Enabled bool
}

// Product describes this software where SRS describes itself: the Server
// header, an extension field of /api/v1/versions, /features and /authors.
// The SRS version numbers stay SRS's, so SRS tools accept us.
type Product struct {
	Name         string    // "tidecast" when empty
	Version      string    // "dev" when empty
	BuiltAt      time.Time // when the binary was built; the API's start when zero
	License      string
	Contributors string // a URL
}

// Options are the API's dependencies. Fleet, Identity and Settings are
// required.
type Options struct {
	Fleet    Fleet
	Identity func() Identity
	Settings func() Settings
	Raw      RawHandler // nil: rpc=reload and rpc=reload-fetch answer 1061, as when disabled
	Stats    Stats      // nil: the process and system figures read zero, with ok false
	Product  Product
	// Middleware wraps the router: it runs after CORS, OPTIONS and the
	// request checks (so a preflight never needs credentials, and a 401
	// carries CORS headers, as in SRS §4–§5), and before routing. It is
	// the slot for Basic auth (which must guard only paths containing
	// "/api/") and a JSONP policy. The first element is the outermost.
	Middleware []func(http.Handler) http.Handler
	Logger     *slog.Logger
	Clock      func() time.Time // time.Now when nil
}

// API is the SRS-compatible HTTP API of the control plane.
type API struct {
	fleet    Fleet
	identity func() Identity
	settings func() Settings
	raw      RawHandler
	stats    Stats
	product  Product
	log      *slog.Logger
	clock    func() time.Time

	serverHeader []string // shared by every response: never modified
	pages        pageCache
	metrics      http.Handler
	handler      http.Handler
}

// New builds the API. It panics when a required option is missing: that is
// a wiring mistake, not a runtime condition.
func New(opts Options) *API {
	if opts.Fleet == nil || opts.Identity == nil || opts.Settings == nil {
		panic("httpapi: Options.Fleet, Identity and Settings are required")
	}
	a := &API{
		fleet: opts.Fleet, identity: opts.Identity, settings: opts.Settings,
		raw: opts.Raw, stats: opts.Stats, product: opts.Product, log: opts.Logger, clock: opts.Clock,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "httpapi")
	if a.clock == nil {
		a.clock = time.Now
	}
	if a.product.Name == "" {
		a.product.Name = "tidecast"
	}
	if a.product.Version == "" {
		a.product.Version = "dev"
	}
	if a.product.BuiltAt.IsZero() {
		a.product.BuiltAt = a.clock()
	}
	a.serverHeader = []string{a.product.Name + "/" + a.product.Version + " (SRS/" + srsVersion + " compatible)"}
	a.metrics = a.newMetricsHandler()
	router := a.router()
	for i := len(opts.Middleware) - 1; i >= 0; i-- {
		router = opts.Middleware[i](router)
	}
	a.handler = a.transport(router)
	return a
}

// Handler returns the API's HTTP handler, for the API port and the
// exporter port alike (SRS serves the whole API on both).
func (a *API) Handler() http.Handler { return a.handler }

// view returns the fleet's current view, never nil.
func (a *API) view() *fleet.View {
	if v := a.fleet.View(); v != nil {
		return v
	}
	return &fleet.View{}
}

// sample returns the latest process and system figures, never nil.
func (a *API) sample() *sysstats.Sample {
	if a.stats != nil {
		if s := a.stats.Latest(); s != nil {
			return s
		}
	}
	return &sysstats.Sample{}
}
