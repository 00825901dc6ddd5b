package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkVersions compares GET /api/v1/versions with a bare net/http
// handler serving the same bytes.
func BenchmarkVersions(b *testing.B) {
	benchAgainstBare(b, manyClients(b, 0), "/api/v1/versions")
}

// BenchmarkClientsPage100 compares a page of 100 of 200 clients with a bare
// handler serving the same bytes.
func BenchmarkClientsPage100(b *testing.B) {
	benchAgainstBare(b, manyClients(b, 200), "/api/v1/clients/?count=100")
}

// benchAgainstBare measures the API and a bare handler serving the API's
// bytes in the same run, request for request, so that a noisy machine
// slows both alike (architecture §6). "loopback" goes through real
// connections with a keep-alive client, as wrk does; "handler" calls the
// handlers in process, which shows the API's own cost. Each reports the
// two costs and bare/api, the API's request rate as a fraction of the bare
// handler's.
func benchAgainstBare(b *testing.B, r *registry, target string) {
	opts := testOptions(r)
	opts.Clock = nil // real time: pages are re-encoded every pageTTL, as in production
	api := New(opts).Handler()
	probe := serve(api, "GET", target)
	body, contentType := probe.Body.Bytes(), probe.Header().Get("Content-Type")
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{contentType}
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
		_, _ = w.Write(body)
	})

	b.Run("loopback", func(b *testing.B) {
		apiSrv, bareSrv := httptest.NewServer(api), httptest.NewServer(bare)
		defer apiSrv.Close()
		defer bareSrv.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		defer client.CloseIdleConnections()
		get := func(url string) {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		compare(b, func() { get(apiSrv.URL + target) }, func() { get(bareSrv.URL + target) })
	})
	b.Run("handler", func(b *testing.B) {
		req := httptest.NewRequest("GET", target, nil)
		call := func(h http.Handler) func() {
			return func() { h.ServeHTTP(discard{header: http.Header{}}, req) }
		}
		compare(b, call(api), call(bare))
	})
}

// compare runs api and bare alternately on parallel goroutines and
// reports their costs and bare/api.
func compare(b *testing.B, api, bare func()) {
	var apiNS, bareNS atomic.Int64
	timed := func(f func(), total *atomic.Int64) {
		start := time.Now()
		f()
		total.Add(int64(time.Since(start)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			timed(bare, &bareNS)
			timed(api, &apiNS)
		}
	})
	b.ReportMetric(float64(apiNS.Load())/float64(b.N), "api-ns/req")
	b.ReportMetric(float64(bareNS.Load())/float64(b.N), "bare-ns/req")
	b.ReportMetric(float64(bareNS.Load())/float64(apiNS.Load()), "bare/api")
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
