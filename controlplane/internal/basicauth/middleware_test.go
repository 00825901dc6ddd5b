package basicauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMiddlewareGuardsOnlyAPIPathsAndJSONPUnlessAllowed(t *testing.T) {
	c := New("admin", "admin")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tc := range []struct {
		name      string
		policy    Policy
		path      string
		auth      string
		want      int
		challenge bool
	}{
		{"auth off lets everything through", Policy{}, "/api/v1/versions", "", http.StatusTeapot, false},
		{"the root is not guarded", Policy{Enabled: true}, "/", "", http.StatusTeapot, false},
		{"rtc paths are not guarded", Policy{Enabled: true}, "/rtc/v1/whip/", "", http.StatusTeapot, false},
		{"api paths need credentials", Policy{Enabled: true}, "/api/v1/versions", "", http.StatusUnauthorized, true},
		{"any path containing /api/ is guarded", Policy{Enabled: true}, "/foo/api/bar", "", http.StatusUnauthorized, true},
		{"right credentials pass", Policy{Enabled: true}, "/api/v1/versions", basic("admin:admin"), http.StatusTeapot, false},
		{"a malformed header gets no challenge", Policy{Enabled: true}, "/api/v1/versions", "Digest x", http.StatusUnauthorized, false},
		{"JSONP is refused under auth by default", Policy{Enabled: true}, "/api/v1/clients/?callback=cb&method=DELETE", basic("admin:admin"), http.StatusForbidden, false},
		{"JSONP passes when allowed", Policy{Enabled: true, JSONP: true}, "/api/v1/versions?callback=cb", basic("admin:admin"), http.StatusTeapot, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Middleware(c, func() Policy { return tc.policy })(ok)
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if got := rec.Header().Get("WWW-Authenticate") == "Basic"; got != tc.challenge {
				t.Fatalf("challenge = %v, want %v", got, tc.challenge)
			}
		})
	}
}
