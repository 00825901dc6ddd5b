package config

import "slices"

// Changes says which areas differ between two configurations, so that a
// reload applies only what changed. The zero value means "nothing".
type Changes struct {
	WorkerSettings bool // anything pushed to data-plane workers: listen, chunk_size, max_connections, vhosts, rtc_server, http_server.enabled and listen
	Vhosts         bool
	RTC            bool // rtc_server
	HTTPAPIListen  bool // http_api.enabled, http_api.listen
	HTTPServer     bool // http_server.enabled, listen, dir (enabled and listen are worker settings too)
	HTTPS          bool // http_api.https, http_server.https
	Auth           bool // http_api.auth
	RawAPI         bool // http_api.raw_api
	Crossdomain    bool // http_api.crossdomain, http_server.crossdomain
	Exporter       bool
	LogLevel       bool // the effective srs_log_level
	Log            bool // srs_log_tank, srs_log_file
	Process        bool // daemon, pid, work_dir, server_id, query_latest_version
	Fleet          bool
}

// Diff reports what changed from old to c. Warnings are not compared.
func (c *Config) Diff(old *Config) Changes {
	ch := Changes{
		Vhosts: !slices.Equal(c.Vhosts, old.Vhosts),
		RTC:    c.RTCServer != old.RTCServer,
		HTTPAPIListen: c.HTTPAPI.Enabled != old.HTTPAPI.Enabled ||
			c.HTTPAPI.Listen != old.HTTPAPI.Listen,
		HTTPServer: c.HTTPServer.Enabled != old.HTTPServer.Enabled ||
			c.HTTPServer.Listen != old.HTTPServer.Listen ||
			c.HTTPServer.Dir != old.HTTPServer.Dir,
		HTTPS:  c.HTTPAPI.HTTPS != old.HTTPAPI.HTTPS || c.HTTPServer.HTTPS != old.HTTPServer.HTTPS,
		Auth:   c.HTTPAPI.Auth != old.HTTPAPI.Auth,
		RawAPI: c.HTTPAPI.RawAPI != old.HTTPAPI.RawAPI,
		Crossdomain: c.HTTPAPI.Crossdomain != old.HTTPAPI.Crossdomain ||
			c.HTTPServer.Crossdomain != old.HTTPServer.Crossdomain,
		Exporter: c.Exporter != old.Exporter,
		LogLevel: c.Log.EffectiveLevel() != old.Log.EffectiveLevel(),
		Log:      c.Log.Tank != old.Log.Tank || c.Log.File != old.Log.File,
		Process: c.Daemon != old.Daemon || c.PidFile != old.PidFile || c.WritePid != old.WritePid || c.WorkDir != old.WorkDir ||
			c.ServerID != old.ServerID || c.QueryLatestVersion != old.QueryLatestVersion,
		Fleet: c.Fleet != old.Fleet,
	}
	ch.WorkerSettings = ch.Vhosts || ch.RTC || !slices.Equal(c.Listen, old.Listen) ||
		c.ChunkSize != old.ChunkSize || c.MaxConnections != old.MaxConnections ||
		c.HTTPServer.Enabled != old.HTTPServer.Enabled || c.HTTPServer.Listen != old.HTTPServer.Listen
	return ch
}
