package httpapi

import (
	"net"
	"strconv"
	"strings"

	"tidecast.dev/controlplane/internal/fleet"
)

// defaultRTMPPort is RTMP's port, for an advertised address without one.
const defaultRTMPPort = 1935

// clusters is /api/v1/clusters (§6.19), the origin-cluster lookup of SRS
// edges and coworkers, without the envelope: which origin publishes
// vhost/app/stream. Here the origin is the worker that publishes it, at
// the first RTMP address it advertises; origin is null when nobody
// publishes the stream or its worker advertises no RTMP address.
//
// When the advertised host is unspecified (0.0.0.0, ::, none), ip falls back
// to the asking coworker's host, then to the host this request was sent
// to, as SRS does with its own listen address. api is http_api.listen when
// it names a host, else the address this request reached (behind a load
// balancer, that is the cluster's).
func (a *API) clusters(x *exchange) {
	q := x.query
	ip, vhost, app, stream := q.get("ip"), q.get("vhost"), q.get("app"), q.get("stream")
	resolved := resolveVhost(a.settings().Vhosts, vhost)
	origin := findOrigin(a.view(), resolved, app, stream)
	var host string
	var port int
	if origin != nil {
		host, port = splitListen(origin.RTMPAddrs[0], defaultRTMPPort)
		if host == "" {
			host, _ = splitListen(q.get("coworker"), 0)
		}
		if host == "" {
			host, _ = splitListen(x.r.Host, 0)
		}
	}
	api := a.settings().HTTPAPI.Listen
	if h, _ := splitListen(api, 0); h == "" {
		api = x.r.Host
	}
	a.respondBare(x, func(j *jsonw) {
		j.obj("data")
		j.obj("query")
		j.str("ip", ip)
		j.str("vhost", vhost)
		j.str("app", app)
		j.str("stream", stream)
		j.end()
		if origin == nil {
			j.null("origin")
		} else {
			j.obj("origin")
			j.str("ip", host)
			j.int("port", int64(port))
			j.str("vhost", resolved)
			j.str("api", api)
			j.arr("routers")
			j.strValue(api)
			j.endArr()
			j.end()
		}
		j.end()
	})
}

// findOrigin returns the worker publishing vhost/app/stream, if it
// advertises an RTMP address. Streams are scanned: this is a rare call.
func findOrigin(v *fleet.View, vhost, app, stream string) *fleet.Worker {
	for _, st := range v.Streams {
		if st.Publishing && st.Vhost == vhost && st.App == app && st.Name == stream {
			if w, ok := findWorker(v, string(st.Node)); ok && len(w.RTMPAddrs) > 0 {
				return w
			}
			return nil
		}
	}
	return nil
}

// resolveVhost is the vhost serving a requested one: itself when
// configured, else SRS's default vhost.
func resolveVhost(configured []VhostSettings, name string) string {
	for _, c := range configured {
		if c.Name == name {
			return name
		}
	}
	return defaultVhost
}

// splitListen splits an SRS address, "[host:]port" or "host", into its host
// (empty when unspecified) and port (def when absent).
func splitListen(addr string, def int) (host string, port int) {
	if p, err := strconv.Atoi(addr); err == nil {
		return "", p
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		host, portStr = strings.Trim(addr, "[]"), ""
	}
	port = def
	if p, err := strconv.Atoi(portStr); err == nil {
		port = p
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = ""
	}
	return host, port
}
