package httpapi

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// routeKind says how a route matches, after SRS's mux (§3).
type routeKind int

const (
	// exact matches the path alone.
	exact routeKind = iota
	// prefix matches the path (ending in '/') and everything under it; the
	// rest is the id, verbatim ("/clients/a/b" is id "a/b"). The path
	// without its slash answers 302 to it, query kept.
	prefix
	// index is a prefix route that answers a fixed document: it is also
	// what every unmatched path under it gets, with code 0 (SRS has no 404
	// on the API port).
	index
)

type route struct {
	path  string
	kind  routeKind
	serve func(*exchange)
}

// routes is the route table of the API port (§3), in SRS's registration
// order, then our extensions. Every route answers every verb it is given;
// handlers that care check x.method (which follows JSONP's override).
//
// SRS's one host route, error.srs.com/api/v1/tests/errors, answers exactly
// what /api/v1/tests/errors answers, so it needs no entry of its own.
func (a *API) routes() []route {
	return []route{
		{"/", index, a.rootIndex},
		{"/api/v1/versions", exact, a.versions},
		{"/api/", index, a.apiIndex},
		{"/api/v1/", index, a.v1Index},
		{"/api/v1/summaries", exact, a.summaries},
		{"/api/v1/rusages", exact, a.rusages},
		{"/api/v1/self_proc_stats", exact, a.selfProcStats},
		{"/api/v1/system_proc_stats", exact, a.systemProcStats},
		{"/api/v1/meminfos", exact, a.meminfos},
		{"/api/v1/authors", exact, a.authors},
		{"/api/v1/features", exact, a.features},
		{"/api/v1/vhosts/", prefix, a.vhosts},
		{"/api/v1/streams/", prefix, a.streams},
		{"/api/v1/clients/", prefix, a.clients},
		{"/api/v1/raw", exact, a.rawAPI},
		{"/api/v1/clusters", exact, a.clusters},
		{"/api/v1/tests/requests", exact, a.echoRequest},
		{"/api/v1/tests/errors", exact, a.testError},
		{"/api/v1/tests/redirects", exact, a.testRedirect},
		{"/metrics", exact, a.serveMetrics},
		{"/api/v1/workers/", prefix, a.workers}, // extension
	}
}

// router builds the gin engine serving the route table. gin's own 404, 405
// and trailing-slash redirects differ from SRS's, so they are off and the
// table says what happens instead.
func (a *API) router() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = false
	handle := func(path string, serve func(*exchange)) {
		h := adapt(serve)
		for _, m := range routedMethods {
			e.Handle(m, path, h)
		}
	}
	var indexes []route
	for _, rt := range a.routes() {
		switch rt.kind {
		case exact:
			handle(rt.path, rt.serve)
		case prefix:
			handle(rt.path+"*id", rt.serve)
			handle(strings.TrimSuffix(rt.path, "/"), redirectTo(rt.path))
		case index:
			handle(rt.path, rt.serve)
			if rt.path != "/" {
				handle(strings.TrimSuffix(rt.path, "/"), redirectTo(rt.path))
			}
			indexes = append(indexes, rt)
		}
	}
	// gin cannot hold a catch-all beside the static routes under it, so
	// the index routes' subtrees are matched here: the longest wins.
	slices.SortFunc(indexes, func(x, y route) int { return cmp.Compare(len(y.path), len(x.path)) })
	e.NoRoute(adapt(func(x *exchange) {
		for _, rt := range indexes {
			if strings.HasPrefix(x.r.URL.Path, rt.path) {
				rt.serve(x)
				return
			}
		}
		a.rootIndex(x) // an empty path, from an absolute-form target such as "http://host"
	}))
	return e
}

// adapt turns a handler of the table into a gin handler.
func adapt(serve func(*exchange)) gin.HandlerFunc {
	return func(c *gin.Context) {
		serve(newExchange(c.Writer, c.Request, strings.TrimPrefix(c.Param("id"), "/")))
	}
}

// redirectTo is the implicit route of a prefix route's slash-less path.
func redirectTo(path string) func(*exchange) {
	return func(x *exchange) { redirect(x.w, x.r, http.StatusFound, path) }
}
