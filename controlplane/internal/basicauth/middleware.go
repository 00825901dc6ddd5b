package basicauth

import (
	"net/http"
	"strings"
)

// Policy is read on every request, so a reload changes it at once.
type Policy struct {
	Enabled bool
	// JSONP allows JSONP requests (a "callback" query) on guarded paths.
	JSONP bool
}

// Middleware guards, as SRS does, only paths containing "/api/". When auth
// is on, JSONP is refused unless the policy allows it: a browser attaches
// cached Basic credentials to a cross-site <script> request, so JSONP
// would let any page the operator visits read the API or kick clients.
func Middleware(c *Checker, policy func() Policy) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := policy()
			if !p.Enabled || !strings.Contains(r.URL.Path, "/api/") {
				next.ServeHTTP(w, r)
				return
			}
			switch c.Check(r.Header.Get("Authorization")) {
			case Challenge:
				w.Header().Set("WWW-Authenticate", "Basic")
				w.WriteHeader(http.StatusUnauthorized)
				return
			case Refused:
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if !p.JSONP && r.URL.Query().Get("callback") != "" {
				http.Error(w, "JSONP is disabled while API auth is on (see http_api.auth.jsonp)", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
