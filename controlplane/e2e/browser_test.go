package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// These tests drive a real headless Chromium (apt package chromium, which
// `make deps` installs) against the real control-plane binary, from a page
// the test serves on another origin: the browser, not the test, decides
// what CORS allows and whether a JSONP script runs.

// browserFlags are the flags that work on these machines (toolbox.md).
var browserFlags = []chromedp.ExecAllocatorOption{
	chromedp.Headless,
	chromedp.NoSandbox,
	chromedp.NoFirstRun,
	chromedp.NoDefaultBrowserCheck,
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("use-fake-ui-for-media-stream", true),
	chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	chromedp.Flag("allow-loopback-in-peer-connection", true),
	chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	chromedp.Flag("disable-dev-shm-usage", true),
}

// browserLife bounds a browser's whole life; stepTimeout bounds each step.
const (
	browserLife = 3 * time.Minute
	stepTimeout = 15 * time.Second
)

// browser is one headless Chromium with one tab, on a fresh profile that
// is removed when the test ends, and what the tab saw on the network.
type browser struct {
	t   *testing.T
	tab context.Context

	mu       sync.Mutex
	requests map[network.RequestID]*netRequest
	order    []network.RequestID
	console  []string
}

// netRequest is one request of the tab as DevTools reports it.
type netRequest struct {
	method, url string
	kind        network.ResourceType // Preflight for a CORS preflight
	status      int64
	headers     network.Headers
	mime        string
	failure     string // why it failed, CORS reasons included
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run `make deps` (scripts/install-deps.sh installs the apt package chromium)")
	}
	profile, err := os.MkdirTemp("", "tidecast-chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	life, endLife := context.WithTimeout(context.Background(), browserLife)
	alloc, closeBrowser := chromedp.NewExecAllocator(life,
		append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(profile)}, browserFlags...)...)
	tab, closeTab := chromedp.NewContext(alloc)
	b := &browser{t: t, tab: tab, requests: map[network.RequestID]*netRequest{}}
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			t.Logf("browser console:\n%s", strings.Join(b.console, "\n"))
			b.mu.Unlock()
			t.Logf("browser network:\n%s", b.networkLog())
		}
		closeTab()
		closeBrowser() // waits for the browser process to exit
		endLife()
		removeProfile(t, profile)
	})
	// The first action starts the browser; its context must outlive it.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	if err := chromedp.Listen(tab, b.record); err != nil {
		t.Fatal(err)
	}
	return b
}

// removeProfile removes the browser's profile directory. A helper process
// of the browser may still be writing in it for a moment after the browser
// exits, so it is retried until gone.
func removeProfile(t *testing.T, dir string) {
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := os.RemoveAll(dir)
		if _, statErr := os.Stat(dir); err == nil && errors.Is(statErr, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("browser profile %s not removed: %v", dir, err)
			return
		}
		<-tick.C
	}
}

// record keeps the tab's network events and console lines. It runs on
// chromedp's reading goroutine, so it only stores.
func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	req := func(id network.RequestID) *netRequest {
		r, ok := b.requests[id]
		if !ok {
			r = &netRequest{}
			b.requests[id] = r
			b.order = append(b.order, id)
		}
		return r
	}
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r := req(e.RequestID)
		r.method, r.url, r.kind = e.Request.Method, e.Request.URL, e.Type
	case *network.EventResponseReceived:
		r := req(e.RequestID)
		r.kind, r.status, r.headers, r.mime = e.Type, e.Response.Status, e.Response.Headers, e.Response.MimeType
	case *network.EventLoadingFailed:
		r := req(e.RequestID)
		r.failure = e.ErrorText
		if e.CorsErrorStatus != nil {
			r.failure += " (CORS: " + string(e.CorsErrorStatus.CorsError) + ")"
		}
	case *log.EventEntryAdded:
		b.console = append(b.console, string(e.Entry.Level)+": "+e.Entry.Text)
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range e.Args {
			args = append(args, string(a.Value))
		}
		b.console = append(b.console, string(e.Type)+": "+strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		b.console = append(b.console, "exception: "+e.ExceptionDetails.Text)
	}
}

func (b *browser) networkLog() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	for _, id := range b.order {
		r := b.requests[id]
		lines = append(lines, fmt.Sprintf("%s %s %s -> %d %s %s", r.kind, r.method, r.url, r.status, r.mime, r.failure))
	}
	return strings.Join(lines, "\n")
}

// preflights returns the CORS preflights the tab sent for URLs containing
// path.
func (b *browser) preflights(path string) []netRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []netRequest
	for _, id := range b.order {
		if r := b.requests[id]; r.kind == network.ResourceTypePreflight && strings.Contains(r.url, path) {
			out = append(out, *r)
		}
	}
	return out
}

// request returns the last non-preflight request for a URL containing
// path.
func (b *browser) request(path string) (netRequest, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range slices.Backward(b.order) {
		if r := b.requests[id]; r.kind != network.ResourceTypePreflight && strings.Contains(r.url, path) {
			return *r, true
		}
	}
	return netRequest{}, false
}

// open loads url in the tab.
func (b *browser) open(url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("opening %s: %v", url, err)
	}
}

// call evaluates fn(args...) in the page, awaiting the promise it returns,
// and decodes the result. The arguments are passed as JSON.
func call[T any](b *browser, fn string, args ...any) T {
	b.t.Helper()
	var js []string
	for _, a := range args {
		j, err := json.Marshal(a)
		if err != nil {
			b.t.Fatal(err)
		}
		js = append(js, string(j))
	}
	expr := fn + "(" + strings.Join(js, ", ") + ")"
	ctx, cancel := context.WithTimeout(b.tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// servePage serves testdata/crossorigin.html from the test's own origin
// and returns its URL.
func servePage(t *testing.T) string {
	t.Helper()
	page, err := os.ReadFile("testdata/crossorigin.html")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// fetchResult is what corsFetch in the page reports.
type fetchResult struct {
	OK      bool              `json:"ok"`
	Error   string            `json:"error"`
	Status  int               `json:"status"`
	Type    string            `json:"type"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// code is the SRS code of the body.
func (r fetchResult) code(t *testing.T) int {
	t.Helper()
	var doc struct {
		Code *int `json:"code"`
	}
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil || doc.Code == nil {
		t.Fatalf("body %q is not an SRS document: %v", r.Body, err)
	}
	return *doc.Code
}

// jsonpResult is what jsonp in the page reports: the document the callback
// was called with.
type jsonpResult struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error"`
	Doc   json.RawMessage `json:"doc"`
}

// preflightedFetch fetches with a DELETE or a custom header, which a
// browser may send cross-origin only after an OPTIONS preflight allowed it.
func preflightedFetch(b *browser, url, method string) fetchResult {
	return call[fetchResult](b, "corsFetch", url, map[string]any{
		"method":  method,
		"headers": map[string]string{"X-Tidecast-Test": "needs a preflight"},
	})
}

// checkPreflightAllowed asserts the tab sent a preflight for path and the
// API allowed it with SRS's CORS headers.
func checkPreflightAllowed(t *testing.T, b *browser, path string) {
	t.Helper()
	pfs := b.preflights(path)
	if len(pfs) == 0 {
		t.Fatalf("no CORS preflight seen for %s; network:\n%s", path, b.networkLog())
	}
	pf := pfs[len(pfs)-1]
	if pf.status != http.StatusOK || pf.failure != "" {
		t.Fatalf("preflight for %s: status %d, failure %q", path, pf.status, pf.failure)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "*",
		"Access-Control-Allow-Headers": "*",
	} {
		if got := headerValue(pf.headers, k); got != want {
			t.Fatalf("preflight for %s: %s = %q, want %q (headers %v)", path, k, got, want, pf.headers)
		}
	}
}

func headerValue(h network.Headers, key string) string {
	for k, v := range h {
		if strings.EqualFold(k, key) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// onlyPlayer waits for the one rtmp-play client of the API and returns it.
func onlyPlayer(t *testing.T, api string) apiClient {
	t.Helper()
	var play apiClient
	eventually(t, 5*time.Second, "one rtmp-play client listed", func() bool {
		var n int
		for _, c := range clients(t, api) {
			if c.Type == "rtmp-play" {
				play, n = c, n+1
			}
		}
		return n == 1
	})
	return play
}

// waitExit waits for an ffmpeg player to end, as a kicked one does.
func (p *player) waitExit(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("player still running %v after the kick", within)
	}
}

func TestAPageOnAnotherOriginUsesTheAPIThroughCORSAndJSONPAndKicksRealPlayers(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	w := startDataPlane(t, "worker-1", cp.fleet)
	rtmpURL := "rtmp://" + rtmpAddr(t, w) + "/live/browser"
	startPublisher(t, rtmpURL)
	first := startPlayer(t, rtmpURL)
	first.waitFrames(t, 10, 20*time.Second)
	firstClient := onlyPlayer(t, cp.api)

	b := startBrowser(t)
	page := servePage(t)
	b.open(page)
	api := "http://" + cp.api
	if strings.HasPrefix(page, api) {
		t.Fatalf("the page (%s) and the API (%s) must be different origins", page, api)
	}

	t.Run("a fetch with a custom header passes its preflight and reads the answer", func(t *testing.T) {
		r := preflightedFetch(b, api+"/api/v1/versions", http.MethodGet)
		if !r.OK || r.Status != http.StatusOK || r.Type != "cors" || r.code(t) != 0 {
			t.Fatalf("fetch = %+v, want a readable cors response with code 0", r)
		}
		if r.Headers["access-control-allow-origin"] != "*" || !strings.Contains(r.Body, `"major":7`) {
			t.Fatalf("fetch = %+v, want Access-Control-Allow-Origin * and the versions document", r)
		}
		checkPreflightAllowed(t, b, "/api/v1/versions")
	})

	t.Run("a JSONP script tag with an AngularJS callback name gets the versions", func(t *testing.T) {
		r := call[jsonpResult](b, "jsonp", api+"/api/v1/versions", "angular.callbacks._0", 10000)
		var doc versionsDoc
		if !r.OK || json.Unmarshal(r.Doc, &doc) != nil || doc.Code != 0 || doc.Data.Major != 7 {
			t.Fatalf("jsonp = %+v, want the versions document with code 0", r)
		}
		if req, ok := b.request("callback=angular.callbacks._0"); !ok || req.kind != network.ResourceTypeScript || req.mime != "text/javascript" {
			t.Fatalf("script request = %+v, want a script answered as text/javascript", req)
		}
	})

	t.Run("a JSONP script tag with a jQuery callback name gets the clients", func(t *testing.T) {
		r := call[jsonpResult](b, "jsonp", api+"/api/v1/clients/?count=100", "jQuery37108049167_1763600000000", 10000)
		var doc struct {
			Code    int         `json:"code"`
			Clients []apiClient `json:"clients"`
		}
		if !r.OK || json.Unmarshal(r.Doc, &doc) != nil || doc.Code != 0 {
			t.Fatalf("jsonp = %+v, want the clients document with code 0", r)
		}
		if !slices.ContainsFunc(doc.Clients, func(c apiClient) bool { return c.ID == firstClient.ID && c.Type == "rtmp-play" }) {
			t.Fatalf("clients = %+v, want the player %s", doc.Clients, firstClient.ID)
		}
	})

	t.Run("a preflighted DELETE kicks a real player", func(t *testing.T) {
		kicked := time.Now()
		r := preflightedFetch(b, api+"/api/v1/clients/"+firstClient.ID, http.MethodDelete)
		if !r.OK || r.Status != http.StatusOK || r.code(t) != 0 {
			t.Fatalf("DELETE = %+v, want code 0", r)
		}
		checkPreflightAllowed(t, b, "/api/v1/clients/"+firstClient.ID)
		first.waitExit(t, 5*time.Second)
		t.Logf("player exited %v after the DELETE was sent", time.Since(kicked))
		eventually(t, 2*time.Second, "the kicked player gone from the API", func() bool {
			_, still := clientOfType(clients(t, cp.api), "rtmp-play")
			return !still
		})
	})

	t.Run("a JSONP method=DELETE kicks a real player", func(t *testing.T) {
		second := startPlayer(t, rtmpURL)
		second.waitFrames(t, 10, 20*time.Second)
		secondClient := onlyPlayer(t, cp.api)
		kicked := time.Now()
		r := call[jsonpResult](b, "jsonp", api+"/api/v1/clients/"+secondClient.ID+"?method=DELETE", "angular.callbacks._1", 10000)
		var doc struct {
			Code   int    `json:"code"`
			Server string `json:"server"`
		}
		if !r.OK || json.Unmarshal(r.Doc, &doc) != nil || doc.Code != 0 || doc.Server != "vid-e2etest" {
			t.Fatalf("jsonp kick = %+v, want the bare envelope with code 0", r)
		}
		second.waitExit(t, 5*time.Second)
		t.Logf("player exited %v after the JSONP kick was sent", time.Since(kicked))
		eventually(t, 2*time.Second, "the kicked player gone from the API", func() bool {
			_, still := clientOfType(clients(t, cp.api), "rtmp-play")
			return !still
		})
		r = call[jsonpResult](b, "jsonp", api+"/api/v1/clients/"+secondClient.ID+"?method=DELETE", "angular.callbacks._2", 10000)
		if !r.OK || json.Unmarshal(r.Doc, &doc) != nil || doc.Code != 2049 {
			t.Fatalf("second jsonp kick = %+v, want code 2049", r)
		}
	})
}

func TestWithCrossdomainOffABrowserCannotPassAPreflightButJSONPStillWorks(t *testing.T) {
	cp := startControlPlane(t, confWith("")+"http_server { crossdomain off; }\n")
	w := startDataPlane(t, "worker-1", cp.fleet)
	rtmpURL := "rtmp://" + rtmpAddr(t, w) + "/live/closed"
	startPublisher(t, rtmpURL)
	pl := startPlayer(t, rtmpURL)
	pl.waitFrames(t, 10, 20*time.Second)
	play := onlyPlayer(t, cp.api)

	b := startBrowser(t)
	b.open(servePage(t))
	api := "http://" + cp.api

	r := preflightedFetch(b, api+"/api/v1/clients/"+play.ID, http.MethodDelete)
	if r.OK || !strings.Contains(r.Error, "TypeError") {
		t.Fatalf("preflighted DELETE = %+v, want it refused by the browser (TypeError)", r)
	}
	pfs := b.preflights("/api/v1/clients/" + play.ID)
	if len(pfs) == 0 || pfs[len(pfs)-1].status != http.StatusMethodNotAllowed {
		t.Fatalf("preflights = %+v, want one answered 405", pfs)
	}
	if req, ok := b.request("/api/v1/clients/" + play.ID); !ok || req.status != 0 || !strings.Contains(req.failure, "CORS") {
		t.Fatalf("DELETE = %+v, want it failed for CORS and never answered", req)
	}
	// The player was not kicked: it keeps decoding and stays listed.
	pl.waitFrames(t, pl.frames()+30, 10*time.Second)
	if _, ok := clientOfType(clients(t, cp.api), "rtmp-play"); !ok {
		t.Fatal("the player left the API although the DELETE was refused")
	}

	// A simple GET needs no preflight, but without CORS headers the page
	// cannot read the answer.
	r = call[fetchResult](b, "corsFetch", api+"/api/v1/versions", map[string]any{})
	if req, _ := b.request("/api/v1/versions"); r.OK || !strings.Contains(req.failure, "CORS") {
		t.Fatalf("simple GET = %+v (%+v), want it unreadable for CORS", r, req)
	}

	j := call[jsonpResult](b, "jsonp", api+"/api/v1/versions", "angular.callbacks._0", 10000)
	var doc versionsDoc
	if !j.OK || json.Unmarshal(j.Doc, &doc) != nil || doc.Code != 0 {
		t.Fatalf("jsonp = %+v, want the versions document: script tags need no CORS", j)
	}
}
