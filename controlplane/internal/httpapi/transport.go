package httpapi

import (
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
)

// corsHeaders are SRS's six CORS headers (§4), in its order. The last is
// literally a request header's name; SRS sends it, so browsers' behaviour
// with SRS is what we keep.
var corsHeaders = [...]struct {
	key   string
	value []string
}{
	{"Access-Control-Allow-Origin", []string{"*"}},
	{"Access-Control-Allow-Headers", []string{"*"}},
	{"Access-Control-Allow-Methods", []string{"*"}},
	{"Access-Control-Expose-Headers", []string{"*"}},
	{"Access-Control-Allow-Credentials", []string{"false"}},
	{"Access-Control-Request-Private-Network", []string{"true"}},
}

// routedMethods are the verbs the router serves. SRS's mux ignores the
// verb; every SRS client uses one of these, and anything else (CONNECT,
// TRACE, WebDAV verbs) is refused with 405 rather than routed.
var routedMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
}

// transport is SRS's connection layer (§2.1, §4), in its order: CORS
// headers, OPTIONS, the request checks; what passes goes on to next (the
// middleware, then the router).
//
// Unlike SRS it sends no "Connection: Close": SRS says it and then keeps
// the connection anyway, and clients that believe it would reconnect for
// every request.
func (a *API) transport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer a.recoverPanic(w, r)
		h := w.Header()
		h["Server"] = a.serverHeader
		crossdomain := a.settings().Crossdomain
		if crossdomain && r.Header.Get("Origin") != "" {
			for _, c := range corsHeaders {
				h[c.key] = c.value
			}
		}
		if r.Method == http.MethodOptions {
			h["Content-Length"] = contentEmpty
			if crossdomain {
				w.WriteHeader(http.StatusOK)
			} else {
				w.WriteHeader(http.StatusMethodNotAllowed)
			}
			return
		}
		if err := checkRequest(r); err != nil {
			a.fail(&exchange{w: w, r: r}, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkRequest refuses what SRS refuses before routing. SRS closes the
// connection without a response; a 400 that says why is kinder to
// clients and to whoever reads their logs.
func checkRequest(r *http.Request) error {
	if strings.Contains(r.URL.Path, "..") || strings.Contains(r.URL.RawPath, "..") {
		return badRequest(`the path must not contain ".."`)
	}
	if !slices.Contains(routedMethods, r.Method) {
		return errMethodNotAllowed
	}
	if !validCallback(query(r.URL.RawQuery).get("callback")) {
		return badRequest("invalid JSONP callback: use 1 to 128 characters of A-Z a-z 0-9 _ . -")
	}
	return nil
}

// recoverPanic turns a handler's panic into a logged 500, so one bad
// request does not take the connection's others with it.
func (a *API) recoverPanic(w http.ResponseWriter, r *http.Request) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	a.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
	writeText(w, http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
}
