package config

import (
	"slices"
	"time"
)

// DefaultVhost is the catch-all vhost serving requests for vhosts that are
// not configured.
const DefaultVhost = "__defaultVhost__"

// Config is the typed configuration: a plain value with no references to
// shared state, so that a reload can build a new one, compare it with the
// old one (Diff, or reflect.DeepEqual) and swap it in whole.
type Config struct {
	Listen             []string // RTMP listen addresses, [ip:]port
	MaxConnections     int
	ChunkSize          int
	Daemon             bool // accepted; the process always stays in the foreground (a warning says so when on)
	PidFile            string
	WritePid           bool   // pid was given (file or SRS_PID): the process writes PidFile while it runs
	ServerID           string // empty: generated and persisted by the server; else see CheckServerID
	WorkDir            string
	QueryLatestVersion bool
	Log                Log
	HTTPAPI            HTTPAPI
	HTTPServer         HTTPServer
	RTCServer          RTCServer
	Exporter           Exporter
	Fleet              Fleet
	Vhosts             []Vhost // in file order; always contains DefaultVhost

	// Warnings lists, once each, the directives that were accepted but
	// have no effect here, as "file:line: directive "path" is ...".
	Warnings []string
}

// Log is srs_log_tank, srs_log_file, srs_log_level and srs_log_level_v2.
type Log struct {
	Tank    string // "file" or "console"
	File    string
	Level   string // srs_log_level: verbose, info, trace, warn or error
	LevelV2 string // srs_log_level_v2: trace, debug, info, warn or error; overrides Level when set
}

// EffectiveLevel is the level in srs_log_level's vocabulary, after
// srs_log_level_v2 (whose names are shifted by one: its "info" is the old
// "trace") has overridden it.
func (l Log) EffectiveLevel() string {
	switch l.LevelV2 {
	case "":
		return l.Level
	case "trace":
		return "verbose"
	case "debug":
		return "info"
	case "info":
		return "trace"
	}
	return l.LevelV2
}

// HTTPAPI is the http_api block.
type HTTPAPI struct {
	Enabled     bool
	Listen      string
	Crossdomain bool // reported by rpc=raw only; CORS follows HTTPServer.Crossdomain
	RawAPI      RawAPI
	Auth        Auth
	HTTPS       HTTPS
}

// RawAPI is http_api.raw_api. allow_query and allow_update are accepted
// but always false, as in SRS 4 and later.
type RawAPI struct {
	Enabled     bool
	AllowReload bool
}

// Auth is http_api.auth: HTTP basic authentication of /api/ paths.
type Auth struct {
	Enabled  bool
	Username string
	Password Secret
	// JSONP allows JSONP on authenticated paths (our directive, default off).
	// A browser attaches cached Basic credentials to a cross-site <script>
	// request, so with JSONP on any web page the operator visits could read
	// the API or kick clients.
	JSONP bool
}

// HTTPS is the https block of http_api and http_server.
type HTTPS struct {
	Enabled bool
	Listen  string
	Key     string
	Cert    string
}

// HTTPServer is the http_server block. Enabled and Listen are pushed to
// the workers, whose HTTP server serves HTTP-FLV (see Vhost.HTTPRemux);
// Crossdomain governs the API's CORS, as in SRS. Dir (static files) and
// HTTPS are accepted and have no effect.
type HTTPServer struct {
	Enabled     bool
	Listen      string
	Dir         string
	Crossdomain bool
	HTTPS       HTTPS
}

// RTCServer is the rtc_server block.
type RTCServer struct {
	Enabled                bool
	Listen                 string // UDP
	Candidate              string // "$VAR" already resolved; "*" means auto-detect
	Protocol               string // udp, tcp or all
	TCP                    RTCTCP
	Encrypt                bool
	APIAsCandidates        bool
	ResolveAPIDomain       bool
	KeepAPIDomain          bool
	UseAutoDetectNetworkIP bool
	IPFamily               string // ipv4, ipv6 or all
	ECDSA                  bool
}

// RTCTCP is rtc_server.tcp.
type RTCTCP struct {
	Enabled bool
	Listen  string
}

// Exporter is the exporter block (Prometheus metrics).
type Exporter struct {
	Enabled bool
	Listen  string
	Label   string
	Tag     string
}

// Fleet is our own fleet block: where data-plane workers dial the control
// plane, and how their streams are authenticated and expired.
type Fleet struct {
	Listen       string
	Token        Secret
	PingInterval time.Duration
	ExpireAfter  time.Duration
	TLS          FleetTLS
}

// FleetTLS is fleet.tls. With ClientCA set, workers must present a
// certificate signed by it (mutual TLS).
type FleetTLS struct {
	Enabled  bool
	Key      string
	Cert     string
	ClientCA string
}

// Vhost is one vhost block.
type Vhost struct {
	Name       string
	Enabled    bool
	MinLatency bool
	TCPNoDelay bool
	Play       Play
	RTC        VhostRTC
	HTTPRemux  HTTPRemux
}

// Play is vhost.play.
type Play struct {
	GopCache          bool
	GopCacheMaxFrames int
	QueueLength       time.Duration
	MWLatency         time.Duration // merged-write latency; 0 sends every message at once
	MWMsgs            int
}

// HTTPRemux is vhost.http_remux (SRS 1's http_flv): live HTTP-FLV on the
// workers' http_server.
type HTTPRemux struct {
	Enabled bool
	// Mount is the URL path template: it ends in ".flv" and contains
	// "[stream]", and may contain "[vhost]" and "[app]".
	Mount string
}

// DefaultHTTPRemuxMount is SRS's default vhost.http_remux.mount.
const DefaultHTTPRemuxMount = "[vhost]/[app]/[stream].flv"

// VhostRTC is vhost.rtc.
type VhostRTC struct {
	Enabled   bool
	RTMPToRTC bool
	RTCToRTMP bool
}

// Realtime reports whether the vhost delivers without merged writes.
func (v Vhost) Realtime() bool { return v.MinLatency || v.Play.MWLatency == 0 }

// Defaults returns the configuration SRS uses when nothing is set,
// including the implied default vhost.
func Defaults() *Config {
	return &Config{
		Listen:         []string{"1935"},
		MaxConnections: 1000,
		ChunkSize:      60000,
		Daemon:         true,
		PidFile:        "./objs/srs.pid",
		WorkDir:        "./",
		Log:            Log{Tank: "file", File: "./objs/srs.log", Level: "trace"},
		HTTPAPI: HTTPAPI{
			Listen:      "1985",
			Crossdomain: true,
			HTTPS:       HTTPS{Listen: "1990", Key: "./conf/server.key", Cert: "./conf/server.crt"},
		},
		HTTPServer: HTTPServer{
			Listen:      "8080",
			Dir:         "./objs/nginx/html",
			Crossdomain: true,
			HTTPS:       HTTPS{Listen: "8088", Key: "./conf/server.key", Cert: "./conf/server.crt"},
		},
		RTCServer: RTCServer{
			Listen:                 "8000",
			Candidate:              "*",
			Protocol:               "udp",
			TCP:                    RTCTCP{Listen: "8000"},
			Encrypt:                true,
			APIAsCandidates:        true,
			ResolveAPIDomain:       true,
			UseAutoDetectNetworkIP: true,
			IPFamily:               "ipv4",
			ECDSA:                  true,
		},
		Exporter: Exporter{Listen: "9972"},
		Fleet: Fleet{
			Listen:       "1988",
			PingInterval: time.Second,
			ExpireAfter:  3 * time.Second,
		},
		Vhosts: []Vhost{newVhost(DefaultVhost)},
	}
}

func newVhost(name string) Vhost {
	return Vhost{
		Name:    name,
		Enabled: true,
		Play: Play{
			GopCache:          true,
			GopCacheMaxFrames: 2500,
			QueueLength:       30 * time.Second,
			MWLatency:         350 * time.Millisecond,
			MWMsgs:            8,
		},
		HTTPRemux: HTTPRemux{Mount: DefaultHTTPRemuxMount},
	}
}

// Vhost returns the vhost configured under name.
func (c *Config) Vhost(name string) (Vhost, bool) {
	i := slices.IndexFunc(c.Vhosts, func(v Vhost) bool { return v.Name == name })
	if i < 0 {
		return Vhost{}, false
	}
	return c.Vhosts[i], true
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	n := *c
	n.Listen = slices.Clone(c.Listen)
	n.Vhosts = slices.Clone(c.Vhosts)
	n.Warnings = slices.Clone(c.Warnings)
	return &n
}
