package httpapi

import (
	"net/http"

	"tidecast.dev/controlplane/internal/fleet"
)

// workers is our extension /api/v1/workers/ and /api/v1/workers/{node}:
// the media workers this replica knows, connected or waiting to expire,
// sorted by node id. It follows the SRS resources' rules: GET only, the id
// looked up first (an unknown node answers 1012, see errWorkerNotFound).
func (a *API) workers(x *exchange) {
	v := a.view()
	w, found := findWorker(v, x.id)
	if err := checkResource(x, found, errWorkerNotFound, http.MethodGet); err != nil {
		a.fail(x, err)
		return
	}
	if x.id != "" {
		a.respond(x, func(j *jsonw) {
			j.key("worker")
			encodeWorker(j, w)
		})
		return
	}
	a.respond(x, func(j *jsonw) {
		j.arr("workers")
		for _, w := range v.Workers {
			encodeWorker(j, w)
		}
		j.endArr()
	})
}

// findWorker looks a worker up by node id. The view holds few workers, so
// a scan beats an index.
func findWorker(v *fleet.View, node string) (*fleet.Worker, bool) {
	return v.Worker(fleet.NodeID(node))
}

// encodeWorker writes a worker. Times are epoch milliseconds; the client
// totals count since the worker's boot, as srs_clients_total and
// srs_clients_errs_total do; stats are the worker's last report of its
// host and process (fractions as in SRS: cpu_percent 1.00 is one core).
func encodeWorker(j *jsonw, w *fleet.Worker) {
	j.open()
	j.str("id", string(w.Node))
	j.str("boot", string(w.Boot))
	j.str("version", w.Version)
	j.int("pid", int64(w.PID))
	j.arr("rtmp")
	for _, addr := range w.RTMPAddrs {
		j.strValue(addr)
	}
	j.endArr()
	j.arr("http")
	for _, addr := range w.HTTPAddrs {
		j.strValue(addr)
	}
	j.endArr()
	j.arr("webrtc")
	for _, addr := range w.WebRTCAddrs {
		j.strValue(addr)
	}
	j.endArr()
	j.bool("connected", w.Connected)
	j.int("connected_ms", w.ConnectedAt.UnixMilli())
	j.int("last_seen_ms", w.LastSeen().UnixMilli())
	j.int("clients", int64(w.Clients))
	totals := w.ClientTotals()
	j.uint("clients_total", totals.Joined)
	j.uint("clients_errs_total", totals.Failed)
	j.int("streams", int64(w.Streams))
	encodeTraffic(j, w.Traffic())
	stats := w.Stats()
	s := &stats
	j.obj("stats")
	j.int("sample_time", unixMilli(s.At))
	j.float("cpu_percent", s.CPUPercent)
	j.int("cpus", int64(s.CPUs))
	j.uint("mem_total_kbyte", s.MemTotalKB)
	j.uint("mem_used_kbyte", s.MemUsedKB)
	j.float("load_1m", s.Load1)
	j.float("load_5m", s.Load5)
	j.float("load_15m", s.Load15)
	j.float("proc_cpu_percent", s.ProcCPUPercent)
	j.uint("proc_rss_kbyte", s.ProcRSSKB)
	j.int("proc_goroutines", int64(s.ProcGoroutines))
	j.int("proc_threads", int64(s.ProcThreads))
	j.int("proc_fds", int64(s.ProcFDs))
	j.int("uptime", int64(s.Uptime.Seconds()))
	j.int("connections", int64(s.Connections))
	j.end()
	j.end()
}
