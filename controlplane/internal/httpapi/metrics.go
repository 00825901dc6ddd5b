package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveMetrics is /metrics (§6.20): the Prometheus exposition when the
// exporter is enabled, {"code":1090} otherwise. SRS wraps the text in a
// JSONP callback when given one; that quirk is not kept, as no scraper
// sends one.
func (a *API) serveMetrics(x *exchange) {
	if !a.settings().Exporter.Enabled {
		a.fail(x, errExporterDisabled)
		return
	}
	a.metrics.ServeHTTP(x.w, x.r)
}

// newMetricsHandler serves the API's own registry, so nothing registered
// globally elsewhere in the process leaks into SRS's metric set.
func (a *API) newMetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metricsCollector{a})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(a.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// SRS's metrics (§6.20), with its names and help texts. cpu and memory are
// the answering control-plane replica's own; traffic, streams and clients
// are the fleet's. The client counters sum every worker this replica has
// known since it started, gone ones included (see fleet.View.ClientTotals),
// so they never go back.
var (
	descCPU        = prometheus.NewDesc("srs_cpu_percent", "SRS cpu used percent.", nil, nil)
	descMemory     = prometheus.NewDesc("srs_memory", "SRS memory used.", nil, nil)
	descSendBytes  = prometheus.NewDesc("srs_send_bytes_total", "SRS total sent bytes.", nil, nil)
	descRecvBytes  = prometheus.NewDesc("srs_receive_bytes_total", "SRS total received bytes.", nil, nil)
	descStreams    = prometheus.NewDesc("srs_streams", "The number of SRS concurrent streams.", nil, nil)
	descClients    = prometheus.NewDesc("srs_clients", "The number of SRS concurrent clients.", nil, nil)
	descClientsAll = prometheus.NewDesc("srs_clients_total", "The total counts of SRS clients.", nil, nil)
	descClientErrs = prometheus.NewDesc("srs_clients_errs_total", "The total errors of SRS clients.", nil, nil)
)

// Our fleet's metrics: one series per worker, labelled with its node id.
var (
	nodeLabel          = []string{"node"}
	descWorkers        = prometheus.NewDesc("tidecast_workers", "The media workers this replica knows, connected or not.", nil, nil)
	descWorkerUp       = prometheus.NewDesc("tidecast_worker_up", "1 when the worker is connected to this replica.", nodeLabel, nil)
	descWorkerClients  = prometheus.NewDesc("tidecast_worker_clients", "The worker's concurrent clients.", nodeLabel, nil)
	descWorkerStreams  = prometheus.NewDesc("tidecast_worker_streams", "The worker's concurrent streams.", nodeLabel, nil)
	descWorkerSendKbps = prometheus.NewDesc("tidecast_worker_send_kbps", "The worker's current send rate in kbit/s.", nodeLabel, nil)
	descWorkerRecvKbps = prometheus.NewDesc("tidecast_worker_recv_kbps", "The worker's current receive rate in kbit/s.", nodeLabel, nil)
	descWorkerCPU      = prometheus.NewDesc("tidecast_worker_cpu_ratio", "The worker process's CPU use, 1 = one core.", nodeLabel, nil)
	descWorkerRSS      = prometheus.NewDesc("tidecast_worker_resident_memory_bytes", "The worker process's resident memory.", nodeLabel, nil)
)

// metricsCollector computes every metric at scrape time from the fleet
// view and the latest sample: nothing is counted per event. It is an
// unchecked collector (Describe sends nothing) because srs_build_info's
// labels follow the live exporter settings.
type metricsCollector struct{ a *API }

func (metricsCollector) Describe(chan<- *prometheus.Desc) {}

func (m metricsCollector) Collect(ch chan<- prometheus.Metric) {
	a := m.a
	v, smp, id, exp := a.view(), a.sample(), a.identity(), a.settings().Exporter
	gauge := func(d *prometheus.Desc, value float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, value, labels...)
	}
	counter := func(d *prometheus.Desc, value float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, value)
	}

	names := []string{"server", "service", "pid", "build_date", "major", "version", "code"}
	values := []string{id.Server, id.Service, strconv.Itoa(id.PID),
		a.product.BuiltAt.UTC().Format("2006-01-02 15:04:05"), strconv.Itoa(srsMajor), srsVersion, srsCodeName}
	for _, l := range [...]struct{ name, value string }{{"label", exp.Label}, {"tag", exp.Tag}} {
		if l.value != "" {
			names, values = append(names, l.name), append(values, l.value)
		}
	}
	gauge(prometheus.NewDesc("srs_build_info",
		"A metric with a constant '1' value labeled by build_date, version from which SRS was built.", names, nil),
		1, values...)
	gauge(descCPU, smp.Self.CPUPercent*100)
	gauge(descMemory, float64(smp.Self.RSSKB))
	total := v.Total()
	counter(descSendBytes, float64(total.SendBytes))
	counter(descRecvBytes, float64(total.RecvBytes))
	gauge(descStreams, float64(len(v.Streams)))
	gauge(descClients, float64(len(v.Clients)))
	clients := v.ClientTotals()
	counter(descClientsAll, float64(clients.Joined))
	counter(descClientErrs, float64(clients.Failed))

	gauge(descWorkers, float64(len(v.Workers)))
	for _, w := range v.Workers {
		node := string(w.Node)
		up := 0.0
		if w.Connected {
			up = 1
		}
		gauge(descWorkerUp, up, node)
		gauge(descWorkerClients, float64(w.Clients), node)
		gauge(descWorkerStreams, float64(w.Streams), node)
		tr := w.Traffic()
		gauge(descWorkerSendKbps, float64(tr.Current.Send), node)
		gauge(descWorkerRecvKbps, float64(tr.Current.Recv), node)
		stats := w.Stats()
		gauge(descWorkerCPU, stats.ProcCPUPercent, node)
		gauge(descWorkerRSS, float64(stats.ProcRSSKB)*1024, node)
	}
}
