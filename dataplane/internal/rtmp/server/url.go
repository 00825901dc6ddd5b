package server

import (
	"net"
	"net/url"
	"strings"

	"tidecast.dev/dataplane/internal/media"
)

// splitQuery splits "name?query" into its parts.
func splitQuery(s string) (string, url.Values) {
	name, q, ok := strings.Cut(s, "?")
	if !ok {
		return s, nil
	}
	v, _ := url.ParseQuery(q) // keeps what parses; a bad pair is ignored
	return name, v
}

// appOf returns the app of a tcUrl ("rtmp://host:port/app?q"), which SRS
// takes when connect names none.
func appOf(tcURL string) string {
	_, rest, ok := strings.Cut(tcURL, "://")
	if !ok {
		return ""
	}
	rest = stripQuery(rest)
	_, path, _ := strings.Cut(rest, "/")
	return strings.Trim(path, "/")
}

// hostOf returns the host of a tcUrl ("rtmp://host:port/app?q").
func hostOf(tcURL string) string {
	_, rest, ok := strings.Cut(tcURL, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return h
	}
	return strings.Trim(rest, "[]")
}

// stripQuery drops a "?query" suffix.
func stripQuery(s string) string {
	name, _, _ := strings.Cut(s, "?")
	return name
}

// requestedVhost resolves the vhost a client asks for, as SRS does: the
// tcUrl's host, overridden by a vhost/domain parameter in the tcUrl, the
// app or the stream name (the later wins).
func requestedVhost(tcURL, app, stream string) string {
	vhost := hostOf(tcURL)
	for _, s := range []string{tcURL, app, stream} {
		if _, q := splitQuery(s); q != nil {
			if v := media.VhostParam(q); v != "" {
				vhost = v
			}
		}
	}
	return vhost
}
