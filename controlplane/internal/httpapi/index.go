package httpapi

import (
	"net"
	"net/http"
	"runtime"
	"strconv"
)

// The SRS version we answer as (§6.4): SRS tools check it, so it is SRS's,
// and our own version is an extension field.
const (
	srsMajor    = 7
	srsMinor    = 0
	srsRevision = 18
	srsVersion  = "7.0.18"
	srsCodeName = "Hang"
)

// rootIndex is GET / (§6.1), and every unmatched path outside /api/.
func (a *API) rootIndex(x *exchange) {
	a.respond(x, func(j *jsonw) {
		j.obj("urls")
		j.str("api", "the api root")
		j.obj("rtc")
		j.obj("v1")
		j.str("play", "Play stream")
		j.str("publish", "Publish stream")
		j.str("nack", "Simulate the NACK")
		j.end()
		j.end()
		j.end()
	})
}

// apiIndex is GET /api/ (§6.2), and every unmatched path under it.
func (a *API) apiIndex(x *exchange) {
	a.respond(x, func(j *jsonw) {
		j.obj("urls")
		j.str("v1", "the api version 1.0")
		j.end()
	})
}

// v1Index is GET /api/v1/ (§6.3), and every unmatched path under it. Our
// extension, workers, follows SRS's sixteen urls.
func (a *API) v1Index(x *exchange) {
	a.respond(x, func(j *jsonw) {
		j.obj("urls")
		j.str("versions", "the version of SRS")
		j.str("summaries", "the summary(pid, argv, pwd, cpu, mem) of SRS")
		j.str("rusages", "the rusage of SRS")
		j.str("self_proc_stats", "the self process stats")
		j.str("system_proc_stats", "the system process stats")
		j.str("meminfos", "the meminfo of system")
		j.str("authors", "the license, copyright, authors and contributors")
		j.str("features", "the supported features of SRS")
		j.str("requests", "the request itself, for http debug")
		j.str("vhosts", "manage all vhosts or specified vhost")
		j.str("streams", "manage all streams or specified stream")
		j.str("clients", "manage all clients or specified client, default query top 10 clients")
		j.str("raw", "raw api for srs, support CUID srs for instance the config")
		j.str("clusters", "origin cluster server API")
		j.str("perf", "System performance stat")
		j.str("tcmalloc", "tcmalloc api with params ?page=summary|api")
		j.str("workers", "the media workers of the cluster, or a specified worker")
		j.end()
		j.obj("tests")
		j.str("requests", "show the request info")
		j.str("errors", "always return an error 100")
		j.str("redirects", "always redirect to /api/v1/test/errors")
		j.str("[vhost]", "http vhost for http://error.srs.com:1985/api/v1/tests/errors")
		j.end()
	})
}

// versions is /api/v1/versions (§6.4), the readiness probe of SRS's tools;
// it answers any verb. The extension field, product, names our software
// and its version ("tidecast/1.2.3").
func (a *API) versions(x *exchange) {
	a.respond(x, func(j *jsonw) {
		j.obj("data")
		j.int("major", srsMajor)
		j.int("minor", srsMinor)
		j.int("revision", srsRevision)
		j.str("version", srsVersion)
		j.str("product", a.product.Name+"/"+a.product.Version)
		j.end()
	})
}

// authors is /api/v1/authors (§6.10), with our product's values.
func (a *API) authors(x *exchange) {
	a.respond(x, func(j *jsonw) {
		j.obj("data")
		j.str("license", a.product.License)
		j.str("contributors", a.product.Contributors)
		j.end()
	})
}

// features is /api/v1/features (§6.11). The build strings describe our
// binary; the flags say what this product does, in SRS's terms.
func (a *API) features(x *exchange) {
	a.respond(x, func(j *jsonw) {
		built := a.product.BuiltAt.UTC()
		j.obj("data")
		j.str("options", "")
		j.str("options2", runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
		j.str("build", built.Format("2006-01-02 15:04:05"))
		j.str("build2", strconv.FormatInt(built.Unix(), 10))
		j.obj("features")
		for _, f := range [...]struct {
			name string
			on   bool
		}{
			{"ssl", true}, {"hls", false}, {"hds", false}, {"callback", false}, {"api", true},
			{"httpd", false}, {"dvr", false}, {"transcode", false}, {"ingest", false}, {"stat", true},
			{"caster", false}, {"complex_send", false}, {"tcp_nodelay", true}, {"so_sendbuf", false}, {"mr", false},
		} {
			j.bool(f.name, f.on)
		}
		j.end()
		j.end()
	})
}

// echoRequest is /api/v1/tests/requests (§6.12), quirks included: headers
// holds server information, with SRS's spelling of "sigature".
func (a *API) echoRequest(x *exchange) {
	scheme := "http"
	if x.r.TLS != nil {
		scheme = "https"
	}
	a.respond(x, func(j *jsonw) {
		j.obj("data")
		j.str("uri", scheme+"://"+requestHost(x)+x.r.URL.Path)
		j.str("path", x.r.URL.Path)
		j.str("METHOD", x.method)
		j.obj("headers")
		j.str("sigature", "SRS")
		j.str("version", srsVersion)
		j.str("link", "https://github.com/ossrs/srs")
		j.int("time", a.clock().UnixMilli())
		j.end()
		j.end()
	})
}

// requestHost is the host SRS routes by (§2.1): the vhost query parameter,
// else domain, else the Host header without its port.
func requestHost(x *exchange) string {
	for _, key := range [...]string{"vhost", "domain"} {
		if v := x.query.get(key); v != "" {
			return v
		}
	}
	if host, _, err := net.SplitHostPort(x.r.Host); err == nil {
		return host
	}
	return x.r.Host
}

// testError is /api/v1/tests/errors (§6.13), and error.srs.com's.
func (a *API) testError(x *exchange) { a.fail(x, errTestError) }

// testRedirect is /api/v1/tests/redirects (§6.14): 301, unlike the 302 of
// the implicit slash routes.
func (a *API) testRedirect(x *exchange) {
	redirect(x.w, x.r, http.StatusMovedPermanently, "/api/v1/tests/errors")
}
