package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tidecast.dev/controlplane/internal/fleet"
)

var corsWant = map[string]string{
	"Access-Control-Allow-Origin":            "*",
	"Access-Control-Allow-Headers":           "*",
	"Access-Control-Allow-Methods":           "*",
	"Access-Control-Expose-Headers":          "*",
	"Access-Control-Allow-Credentials":       "false",
	"Access-Control-Request-Private-Network": "true",
}

// apiWith builds an API over the two-worker fixture, adjusted by mod.
func apiWith(t *testing.T, mod func(*Options)) http.Handler {
	opts := testOptions(twoWorkers(t))
	if mod != nil {
		mod(&opts)
	}
	return New(opts).Handler()
}

func withSettings(change func(*Settings)) func(*Options) {
	return func(o *Options) {
		s := testSettings()
		change(&s)
		o.Settings = func() Settings { return s }
	}
}

// code is the SRS code of a JSON (or JSONP) answer.
func code(t *testing.T, w *httptest.ResponseRecorder) int {
	t.Helper()
	body := w.Body.Bytes()
	if open := bytes.IndexByte(body, '('); open > 0 && bytes.HasSuffix(body, []byte(")")) {
		body = body[open+1 : len(body)-1]
	}
	var doc struct{ Code int }
	require.NoError(t, json.Unmarshal(body, &doc), "body %q", body)
	return doc.Code
}

func TestCORSHeadersNeedAnOriginAndCrossdomain(t *testing.T) {
	for _, tc := range []struct {
		name        string
		crossdomain bool
		method      string
		target      string
		origin      bool
		want        bool
	}{
		{"json with origin", true, "GET", "/api/v1/versions", true, true},
		{"json without origin", true, "GET", "/api/v1/versions", false, false},
		{"crossdomain off", false, "GET", "/api/v1/versions", true, false},
		{"application error", true, "GET", "/api/v1/streams/nope", true, true},
		{"405", true, "POST", "/api/v1/streams/", true, true},
		{"redirect", true, "GET", "/api/v1/clients", true, true},
		{"bad callback", true, "GET", "/api/v1/versions?callback=a(b)", true, true},
		{"preflight", true, "OPTIONS", "/api/v1/clients/", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := apiWith(t, withSettings(func(s *Settings) { s.Crossdomain = tc.crossdomain }))
			var hdr []string
			if tc.origin {
				hdr = append(hdr, "Origin: http://console.example")
			}
			w := serve(h, tc.method, tc.target, hdr...)
			for k, v := range corsWant {
				if tc.want {
					assert.Equal(t, v, w.Header().Get(k), k)
				} else {
					assert.Empty(t, w.Header().Values(k), k)
				}
			}
		})
	}
}

func TestOptionsIsAnsweredBeforeAnythingElse(t *testing.T) {
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	}
	for _, tc := range []struct {
		name        string
		crossdomain bool
		target      string
		want        int
	}{
		{"any path", true, "/api/v1/clients/", http.StatusOK},
		{"unknown path", true, "/no/such/thing?callback=not(valid)", http.StatusOK},
		{"dot dot", true, "/api/../x", http.StatusOK},
		{"crossdomain off", false, "/api/v1/versions", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := apiWith(t, func(o *Options) {
				withSettings(func(s *Settings) { s.Crossdomain = tc.crossdomain })(o)
				o.Middleware = []func(http.Handler) http.Handler{deny}
			})
			w := serve(h, "OPTIONS", tc.target, "Origin: http://x", "Access-Control-Request-Method: DELETE")
			assert.Equal(t, tc.want, w.Code)
			assert.Equal(t, "0", w.Header().Get("Content-Length"))
			assert.Empty(t, w.Header().Get("Content-Type"))
			assert.Empty(t, w.Body.String())
		})
	}
}

func TestMiddlewareRunsAfterCORSAndBeforeRouting(t *testing.T) {
	var seen []string
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, r.URL.Path)
			if strings.Contains(r.URL.Path, "/api/") {
				w.Header().Set("WWW-Authenticate", "Basic")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	h := apiWith(t, func(o *Options) { o.Middleware = []func(http.Handler) http.Handler{auth} })

	w := serve(h, "GET", "/api/v1/versions", "Origin: http://x")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "*", w.Header().Get("Access-Control-Allow-Origin"), "a 401 carries CORS headers")

	w = serve(h, "GET", "/")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 0, code(t, w))

	serve(h, "GET", "/api/v1/versions?callback=bad(")
	serve(h, "OPTIONS", "/api/v1/versions")
	assert.Equal(t, []string{"/api/v1/versions", "/"}, seen, "refused requests and preflights never reach it")
}

func TestJSONPWrapsEveryAnswerWithAValidCallback(t *testing.T) {
	h := apiWith(t, nil)
	for _, cb := range []string{"jQuery_1.2-x", "angular.callbacks._0", "a", strings.Repeat("x", maxCallback)} {
		t.Run(cb, func(t *testing.T) {
			for _, target := range []string{"/api/v1/versions?callback=" + cb, "/api/v1/clients/nope?callback=" + cb} {
				w := serve(h, "GET", target)
				require.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "text/javascript", w.Header().Get("Content-Type"))
				body := w.Body.String()
				assert.True(t, strings.HasPrefix(body, cb+"({") && strings.HasSuffix(body, "})"), body)
				assert.Equal(t, strconv.Itoa(len(body)), w.Header().Get("Content-Length"))
				assert.True(t, json.Valid([]byte(body[len(cb)+1:len(body)-1])))
			}
		})
	}
	w := serve(h, "GET", "/api/v1/versions?callback=")
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"), "an empty callback is not JSONP")
}

func TestInvalidCallbacksAreRefusedWith400(t *testing.T) {
	h := apiWith(t, nil)
	for _, cb := range []string{"a%20b", "alert(1)", "%3Cscript%3E", "cb%3B", "x%2Fy", "caf%C3%A9", strings.Repeat("x", maxCallback+1)} {
		t.Run(cb, func(t *testing.T) {
			w := serve(h, "GET", "/api/v1/versions?callback="+cb)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
			assert.Contains(t, w.Body.String(), "invalid JSONP callback")
		})
	}
}

func TestMethodOverrideNeedsACallback(t *testing.T) {
	for _, tc := range []struct {
		target string
		kicked bool
	}{
		{"/api/v1/clients/58u20117?callback=f&method=DELETE", true},
		{"/api/v1/clients/58u20117?method=DELETE", false},
		{"/api/v1/clients/58u20117?callback=f&method=delete", false},
		{"/api/v1/clients/58u20117?callback=f&method=PATCH", false},
	} {
		t.Run(tc.target, func(t *testing.T) {
			var kicked []string
			h := apiWith(t, func(o *Options) {
				o.Fleet.(*fakeFleet).kick = func(_ context.Context, id string) error {
					kicked = append(kicked, id)
					return nil
				}
			})
			w := serve(h, "GET", tc.target)
			require.Equal(t, http.StatusOK, w.Code)
			if tc.kicked {
				assert.Equal(t, []string{"58u20117"}, kicked)
				assert.NotContains(t, w.Body.String(), `"client":`)
			} else {
				assert.Empty(t, kicked)
				assert.Contains(t, w.Body.String(), `"client":{"id":"58u20117"`)
			}
		})
	}

	w := serve(apiWith(t, nil), "GET", "/api/v1/streams/?callback=f&method=POST")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code, "the override is the verb the handler checks")
	assert.Equal(t, "Method Not Allowed", w.Body.String(), "405 is never wrapped")
}

func TestSlashlessPrefixRoutesRedirectKeepingTheQuery(t *testing.T) {
	h := apiWith(t, nil)
	for _, path := range []string{"/api", "/api/v1", "/api/v1/vhosts", "/api/v1/streams", "/api/v1/clients", "/api/v1/workers"} {
		t.Run(path, func(t *testing.T) {
			for _, query := range []string{"", "?start=1&count=20&callback=cb"} {
				w := serve(h, "GET", path+query)
				assert.Equal(t, http.StatusFound, w.Code)
				assert.Equal(t, path+"/"+query, w.Header().Get("Location"))
				assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
				assert.Equal(t, "Redirect to "+path+"/"+query, w.Body.String())
			}
		})
	}
}

func TestResourcesLookUpTheIDBeforeCheckingTheMethod(t *testing.T) {
	h := apiWith(t, nil)
	for _, tc := range []struct {
		method, target string
		status, code   int
	}{
		{"POST", "/api/v1/streams/", 405, 0},
		{"DELETE", "/api/v1/streams/vid-v9l6512", 405, 0},
		{"DELETE", "/api/v1/streams/vid-nope", 200, 2048},
		{"PUT", "/api/v1/vhosts/", 405, 0},
		{"PUT", "/api/v1/vhosts/vid-nope", 200, 2014},
		{"HEAD", "/api/v1/vhosts/vid-jub1ene", 405, 0},
		{"PUT", "/api/v1/clients/58u20117", 405, 0},
		{"PUT", "/api/v1/clients/nope", 200, 2049},
		{"POST", "/api/v1/clients/", 405, 0},
		{"DELETE", "/api/v1/clients/", 200, 2049},
		{"DELETE", "/api/v1/workers/edge-a", 405, 0},
		{"GET", "/api/v1/clients/58u20117/extra", 200, 2049},
		{"POST", "/api/v1/versions", 200, 0},
		{"PATCH", "/api/v1/summaries", 200, 0},
		{"PROPFIND", "/api/v1/versions", 405, 0},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			w := serve(h, tc.method, tc.target)
			assert.Equal(t, tc.status, w.Code)
			if tc.status == 405 {
				assert.Equal(t, "Method Not Allowed", w.Body.String())
				assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
			} else {
				assert.Equal(t, tc.code, code(t, w))
			}
		})
	}
}

func TestUnmatchedPathsAnswerTheirIndex(t *testing.T) {
	h := apiWith(t, nil)
	for target, wantKey := range map[string]string{
		"/nonexist":               `"urls":{"api":`,
		"/metricsx":               `"urls":{"api":`,
		"/api/foo":                `"urls":{"v1":`,
		"/api/v2/x":               `"urls":{"v1":`,
		"/api/v1/anything/else":   `"urls":{"versions":`,
		"/api/v1/versions/":       `"urls":{"versions":`,
		"/api/v1/clientsx":        `"urls":{"versions":`,
		"/api/v1/tcmalloc?page=x": `"urls":{"versions":`,
		"/api/v1/?callback=cb":    `"urls":{"versions":`,
		"/api/?callback=cb&a=b":   `"urls":{"v1":`,
		"/?callback=cb":           `"urls":{"api":`,
	} {
		t.Run(target, func(t *testing.T) {
			w := serve(h, "GET", target)
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, 0, code(t, w))
			assert.Contains(t, w.Body.String(), wantKey)
		})
	}
}

func TestDotDotInThePathIsRefusedWith400(t *testing.T) {
	h := apiWith(t, nil)
	for _, target := range []string{"/api/v1/../v1/versions", "/api/v1/clients/..", "/api/v1/%2e%2e/x", "/api/v1/clients/a%2F..%2Fb"} {
		t.Run(target, func(t *testing.T) {
			w := serve(h, "GET", target)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Equal(t, `Bad Request: the path must not contain ".."`, w.Body.String())
		})
	}
	assert.Equal(t, http.StatusOK, serve(h, "GET", "/api/v1/versions?a=..").Code, "the query may hold dots")
}

// ids lists the ids of a page of clients or streams.
func ids(t *testing.T, body []byte, list string) []string {
	t.Helper()
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &doc))
	var items []struct{ ID string }
	require.NoError(t, json.Unmarshal(doc[list], &items))
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func clientIDs(from, to int) []string {
	out := []string{}
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("c%07d", i))
	}
	return out
}

func TestPagingHonoursStartAndAnyCount(t *testing.T) {
	h := New(testOptions(manyClients(t, 25))).Handler()
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", clientIDs(0, 10)},
		{"?count=1", clientIDs(0, 1)},
		{"?count=3", clientIDs(0, 3)},
		{"?count=100", clientIDs(0, 25)},
		{"?start=20", clientIDs(20, 25)},
		{"?start=25", clientIDs(25, 25)},
		{"?start=1000&count=5", clientIDs(25, 25)},
		{"?start=-5&count=2", clientIDs(0, 2)},
		{"?count=0", clientIDs(0, 10)},
		{"?count=-3", clientIDs(0, 10)},
		{"?count=abc", clientIDs(0, 10)},
		{"?count=2x", clientIDs(0, 2)},
		{"?start=1,count=2", clientIDs(1, 3)},
		{"?start=1;count=2", clientIDs(1, 3)},
		{"?start=1&&count=2", clientIDs(1, 3)},
		{"?start=%32&count=1", clientIDs(2, 3)},
		{"?count=1&count=4", clientIDs(0, 4)},
		{"?count=99999999999999999999999", clientIDs(0, 25)},
	} {
		t.Run(tc.query, func(t *testing.T) {
			w := serve(h, "GET", "/api/v1/clients/"+tc.query)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tc.want, ids(t, w.Body.Bytes(), "clients"))
		})
	}
	w := serve(apiWith(t, nil), "GET", "/api/v1/streams/?start=1&count=1")
	assert.Equal(t, []string{"vid-a1b2c3d"}, ids(t, w.Body.Bytes(), "streams"))
}

func TestPagesFollowTheViewAndTheClock(t *testing.T) {
	r := manyClients(t, 3)
	h := New(testOptions(r)).Handler()
	alive := func() string {
		w := serve(h, "GET", "/api/v1/clients/?count=1")
		_, after, _ := strings.Cut(w.Body.String(), `"alive":`)
		v, _, _ := strings.Cut(after, ",")
		return v
	}
	assert.Equal(t, "60.00", alive())
	r.now = r.now.Add(pageTTL / 2)
	assert.Equal(t, "60.00", alive(), "within a tick the page is reused")
	r.now = r.now.Add(pageTTL)
	assert.Equal(t, "60.10", alive())

	s := r.Attach(fleet.Hello{Node: "edge-a", Boot: "boot"})
	require.NoError(t, s.ApplySnapshot(fleet.Snapshot{Seq: 2}))
	w := serve(h, "GET", "/api/v1/clients/?count=1")
	assert.Empty(t, ids(t, w.Body.Bytes(), "clients"), "a new view version is listed at once")
}

func TestKickAnswersWhatTheWorkerDid(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		err  error
		code int
	}{
		{"kicked", "58u20117", nil, 0},
		{"no worker has it", "nope", fleet.ErrClientNotFound, 2049},
		{"worker timeout", "58u20117", fmt.Errorf("kick: %w", fleet.ErrWorkerTimeout), 1011},
		{"worker unreachable", "58u20117", fleet.ErrWorkerUnreachable, 1012},
		{"worker's own code", "58u20117", &fleet.Error{Code: 400, Msg: "not kickable"}, 400},
		{"deadline", "58u20117", context.DeadlineExceeded, 1011},
		{"uncoded", "58u20117", errors.New("boom"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var called atomic.Bool
			var logs bytes.Buffer
			h := apiWith(t, func(o *Options) {
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
				o.Fleet.(*fakeFleet).kick = func(ctx context.Context, id string) error {
					called.Store(true)
					assert.Equal(t, tc.id, id)
					assert.NoError(t, ctx.Err())
					return tc.err
				}
			})
			w := serve(h, "DELETE", "/api/v1/clients/"+tc.id)
			require.Equal(t, http.StatusOK, w.Code)
			assert.True(t, called.Load(), "every kick goes to the fleet, which knows its clients")
			assert.Equal(t, tc.code, code(t, w))
			if tc.code == 0 {
				assert.Equal(t, `{"code":0,"server":"vid-h6q5969","service":"`+ServiceID("vid-h6q5969")+`","pid":"3928"}`, w.Body.String())
			}
			assert.Equal(t, tc.name == "uncoded", strings.Contains(logs.String(), "boom"), "only uncoded errors are logged")
		})
	}
}

func TestRawAPI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*Options)
		target string
		code   int
	}{
		{"raw while disabled", withSettings(func(s *Settings) { s.HTTPAPI.RawAPI.Enabled = false }), "?rpc=raw", 0},
		{"reload while disabled", withSettings(func(s *Settings) { s.HTTPAPI.RawAPI.Enabled = false }), "?rpc=reload", 1061},
		{"fetch while disabled", withSettings(func(s *Settings) { s.HTTPAPI.RawAPI.Enabled = false }), "?rpc=reload-fetch", 1061},
		{"reload not allowed", withSettings(func(s *Settings) { s.HTTPAPI.RawAPI.AllowReload = false }), "?rpc=reload", 1061},
		{"fetch needs no allow_reload", withSettings(func(s *Settings) { s.HTTPAPI.RawAPI.AllowReload = false }), "?rpc=reload-fetch", 0},
		{"no reloader", func(o *Options) { o.Raw = nil }, "?rpc=reload", 1061},
		{"reload refused", func(o *Options) {
			o.Raw.(*fakeRaw).reload = func() error { return fmt.Errorf("reload: %w", codeErr{1023}) }
		}, "?rpc=reload", 1023},
		{"no rpc", nil, "", 1060},
		{"query", nil, "?rpc=query&scope=global", 1060},
		{"update", nil, "?rpc=update&scope=listen&value=1935", 1060},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(apiWith(t, tc.mod), "GET", "/api/v1/raw"+tc.target)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tc.code, code(t, w))
			assert.NotContains(t, w.Body.String(), `"server"`, "the RAW API has no envelope")
		})
	}
}

type codeErr struct{ code int }

func (e codeErr) Error() string { return "coded" }
func (e codeErr) Code() int     { return e.code }

func TestMetricsNeedTheExporter(t *testing.T) {
	w := serve(apiWith(t, withSettings(func(s *Settings) { s.Exporter.Enabled = false })), "GET", "/metrics")
	assert.Equal(t, `{"code":1090}`, w.Body.String())
	w = serve(apiWith(t, withSettings(func(s *Settings) { s.Exporter.Label, s.Exporter.Tag = "", "" })), "GET", "/metrics")
	assert.Contains(t, w.Body.String(), `srs_build_info{build_date="2026-11-19 12:00:00",code="Hang",major="7",pid="3928",server="vid-h6q5969",service="`)
	assert.NotContains(t, w.Body.String(), "label=")
}

func TestTheClientCountersSumTheWorkersWithThoseGone(t *testing.T) {
	r := newRegistry()
	report := func(s *fleet.Session, joined, failed uint64) {
		require.NoError(t, s.ApplySamples(fleet.Samples{At: r.now, ClientTotals: fleet.ClientTotals{Joined: joined, Failed: failed}}))
	}
	report(r.Attach(fleet.Hello{Node: "edge-a", Boot: "boot-1"}), 7, 2)
	report(r.Attach(fleet.Hello{Node: "edge-b", Boot: "boot-1"}), 3, 1)
	report(r.Attach(fleet.Hello{Node: "edge-a", Boot: "boot-2"}), 1, 0) // edge-a restarted
	body := serve(New(testOptions(r)).Handler(), "GET", "/metrics").Body.String()
	assert.Contains(t, body, "\nsrs_clients_total 11\n")
	assert.Contains(t, body, "\nsrs_clients_errs_total 3\n")
}

func TestSettingsAreReadPerRequest(t *testing.T) {
	var current atomic.Pointer[Settings]
	s := testSettings()
	current.Store(&s)
	h := apiWith(t, func(o *Options) { o.Settings = func() Settings { return *current.Load() } })
	assert.Equal(t, http.StatusOK, serve(h, "OPTIONS", "/").Code)
	assert.Contains(t, serve(h, "GET", "/metrics").Body.String(), "srs_build_info")

	changed := testSettings()
	changed.Crossdomain, changed.Exporter.Enabled = false, false
	current.Store(&changed)
	assert.Equal(t, http.StatusMethodNotAllowed, serve(h, "OPTIONS", "/").Code)
	assert.Equal(t, `{"code":1090}`, serve(h, "GET", "/metrics").Body.String())
}

func TestEveryResponseNamesTheProductAndKeepsTheConnection(t *testing.T) {
	h := apiWith(t, nil)
	for _, target := range []string{"/api/v1/versions", "/api/v1/clients", "/api/v1/streams/nope", "/api/../x", "/metrics"} {
		w := serve(h, "GET", target)
		assert.Equal(t, "tidecast/1.2.3 (SRS/7.0.18 compatible)", w.Header().Get("Server"), target)
		assert.Empty(t, w.Header().Get("Connection"), target)
	}
}

func TestReplicasOfAClusterShareServerAndService(t *testing.T) {
	a, b := ClusterIdentity("vid-h6q5969"), ClusterIdentity("vid-h6q5969")
	b.PID++
	assert.Equal(t, a.Server, b.Server)
	assert.Equal(t, a.Service, b.Service)
	assert.Regexp(t, `^[0-9a-z]{8}$`, a.Service)
	assert.NotEqual(t, a.Service, ServiceID("vid-other00"))
}

func TestAPanickingHandlerAnswers500(t *testing.T) {
	var logs bytes.Buffer
	h := apiWith(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Fleet.(*fakeFleet).view = func() *fleet.View { panic("broken view") }
	})
	w := serve(h, "GET", "/api/v1/streams/")
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, logs.String(), "broken view")
	assert.Equal(t, http.StatusOK, serve(h, "GET", "/api/v1/versions").Code)
}

func TestNilViewAndStatsReadEmpty(t *testing.T) {
	h := apiWith(t, func(o *Options) {
		o.Fleet.(*fakeFleet).view = func() *fleet.View { return nil }
		o.Stats = nil
	})
	w := serve(h, "GET", "/api/v1/clients/")
	assert.Contains(t, w.Body.String(), `"clients":[]}`)
	w = serve(h, "GET", "/api/v1/summaries")
	assert.Contains(t, w.Body.String(), `"ok":false`)
}

func TestNewRefusesMissingDependencies(t *testing.T) {
	assert.Panics(t, func() { New(Options{}) })
}
