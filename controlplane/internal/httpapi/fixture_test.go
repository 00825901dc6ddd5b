package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tidecast.dev/controlplane/internal/fleet"
	"tidecast.dev/controlplane/internal/sysstats"
)

// t0 is the fixtures' "now".
var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fakeFleet serves a view and kicks with functions the test sets.
type fakeFleet struct {
	view func() *fleet.View
	kick func(ctx context.Context, clientID string) error
}

func (f *fakeFleet) View() *fleet.View { return f.view() }

func (f *fakeFleet) Kick(ctx context.Context, clientID string) error { return f.kick(ctx, clientID) }

type fakeStats struct{ sample *sysstats.Sample }

func (f fakeStats) Latest() *sysstats.Sample { return f.sample }

type fakeRaw struct {
	reload func() error
	last   ReloadStatus
}

func (f *fakeRaw) Reload() error            { return f.reload() }
func (f *fakeRaw) LastReload() ReloadStatus { return f.last }

// registry is a fleet.Registry whose clock the test moves.
type registry struct {
	*fleet.Registry
	now time.Time
}

func newRegistry() *registry {
	r := &registry{now: t0.Add(-time.Minute)}
	r.Registry = fleet.New(time.Hour, func() time.Time { return r.now })
	return r
}

// sampleTwice reports counters at two instants four seconds apart, within
// both rate spans, so that rates are not zero; then it sets the clock to t0.
func (r *registry) sampleTwice(t testing.TB, s *fleet.Session, first, second fleet.Samples) {
	t.Helper()
	first.At, second.At = r.now, r.now.Add(4*time.Second)
	require.NoError(t, s.ApplySamples(first))
	r.now = second.At
	require.NoError(t, s.ApplySamples(second))
	r.now = t0
}

// twoWorkers is the golden fixture: two workers, a published stream with
// three clients and a stream waiting for its publisher on one, a stream
// in another vhost on the other.
func twoWorkers(t testing.TB) *registry {
	r := newRegistry()
	a := r.Attach(fleet.Hello{
		Node: "edge-a", Boot: "boot-a1", Version: "0.3.0", PID: 101, StartedAt: t0.Add(-time.Hour),
		RTMPAddrs: []string{"10.0.0.1:1935"}, HTTPAddrs: []string{"10.0.0.1:8080"}, WebRTCAddrs: []string{"10.0.0.1:8000"},
	})
	joined := t0.Add(-15430 * time.Millisecond)
	require.NoError(t, a.ApplySnapshot(fleet.Snapshot{
		Seq: 1,
		Streams: []fleet.StreamInfo{
			{
				ID: "vid-v9l6512", Vhost: defaultVhost, App: "live", Name: "livestream", TcURL: "rtmp://127.0.0.1:1935/live",
				Publishing: true, PublisherID: "4upb4c24",
				Video: &fleet.VideoInfo{Codec: "H264", Profile: "Baseline", Level: "1.3", Width: 320, Height: 240},
				Audio: &fleet.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"},
			},
			{ID: "vid-0waitin", Vhost: defaultVhost, App: "live", Name: "later", TcURL: "rtmp://127.0.0.1:1935/live"},
		},
		Clients: []fleet.ClientInfo{
			{ID: "4upb4c24", StreamID: "vid-v9l6512", Vhost: defaultVhost, App: "live", Stream: "livestream", IP: "127.0.0.1",
				TcURL: "rtmp://127.0.0.1:1935/live", Type: "fmle-publish", Publish: true, ConnectedAt: joined},
			{ID: "58u20117", StreamID: "vid-v9l6512", Vhost: defaultVhost, App: "live", Stream: "livestream", IP: "127.0.0.1",
				TcURL: "rtmp://127.0.0.1:1935/live", Type: "rtmp-play", ConnectedAt: joined.Add(3840 * time.Millisecond)},
			{ID: "p48k4vd8", StreamID: "vid-v9l6512", Vhost: defaultVhost, App: "live", Stream: "livestream.flv", IP: "10.1.2.3",
				TcURL: "http://127.0.0.1:1935/live", Type: "flv-play", ConnectedAt: joined.Add(3650 * time.Millisecond)},
			{ID: "w8t2a0b1", StreamID: "vid-0waitin", Vhost: defaultVhost, App: "live", Stream: "later", IP: "127.0.0.1",
				TcURL: "rtmp://127.0.0.1:1935/live", Type: "rtmp-play", ConnectedAt: t0.Add(-time.Second)},
		},
	}))
	r.sampleTwice(t, a,
		fleet.Samples{
			Clients: []fleet.ClientCounters{{ID: "4upb4c24", Counters: fleet.Counters{SendBytes: 4000, RecvBytes: 100000}}, {ID: "58u20117", Counters: fleet.Counters{SendBytes: 90000, RecvBytes: 3000}}},
			Streams: []fleet.StreamCounters{{ID: "vid-v9l6512", Counters: fleet.Counters{SendBytes: 180000, RecvBytes: 100000}, Frames: 300}},
			Total:   fleet.Counters{SendBytes: 200000, RecvBytes: 110000},
		},
		fleet.Samples{
			Clients:      []fleet.ClientCounters{{ID: "4upb4c24", Counters: fleet.Counters{SendBytes: 4384, RecvBytes: 519616}}, {ID: "58u20117", Counters: fleet.Counters{SendBytes: 444069, RecvBytes: 3483}}},
			Streams:      []fleet.StreamCounters{{ID: "vid-v9l6512", Counters: fleet.Counters{SendBytes: 898679, RecvBytes: 523229}, Frames: 1000}},
			Total:        fleet.Counters{SendBytes: 900000, RecvBytes: 530000},
			ClientTotals: fleet.ClientTotals{Joined: 9, Failed: 2},
		})
	require.NoError(t, a.ApplyNodeStats(fleet.NodeStats{
		At: t0, CPUPercent: 0.5, CPUs: 2, MemTotalKB: 8000000, MemUsedKB: 2000000, Load1: 0.5, Load5: 0.25, Load15: 0.1,
		ProcCPUPercent: 0.25, ProcRSSKB: 40000, ProcGoroutines: 42, ProcThreads: 9, ProcFDs: 31, Uptime: time.Hour, Connections: 5,
	}))

	b := r.Attach(fleet.Hello{Node: "edge-b", Boot: "boot-b1", Version: "0.3.0", PID: 202, StartedAt: t0.Add(-2 * time.Hour),
		RTMPAddrs: []string{"0.0.0.0:19350"}})
	require.NoError(t, b.ApplySnapshot(fleet.Snapshot{
		Seq: 7,
		Streams: []fleet.StreamInfo{{ID: "vid-a1b2c3d", Vhost: "example.com", App: "live", Name: "news",
			TcURL: "rtmp://example.com/live", Publishing: true, PublisherID: "z9y8x7w6",
			Video: &fleet.VideoInfo{Codec: "HEVC", Profile: "Main10", Level: "5.1", Width: 3840, Height: 2160}}},
		Clients: []fleet.ClientInfo{
			{ID: "z9y8x7w6", StreamID: "vid-a1b2c3d", Vhost: "example.com", App: "live", Stream: "news", IP: "192.0.2.7",
				PageURL: "http://example.com/\"quoted\"\\path\n\x01", TcURL: "rtmp://example.com/live", Type: "rtc-publish",
				Publish: true, ConnectedAt: t0.Add(-time.Hour)},
		},
	}))
	r.now = t0
	return r
}

// manyClients is a fleet of one worker serving n players of one stream.
func manyClients(t testing.TB, n int) *registry {
	r := newRegistry()
	s := r.Attach(fleet.Hello{Node: "edge-a", Boot: "boot", RTMPAddrs: []string{"10.0.0.1:1935"}})
	snap := fleet.Snapshot{Seq: 1, Streams: []fleet.StreamInfo{{ID: "vid-0000001", Vhost: defaultVhost, App: "live", Name: "s", Publishing: true}}}
	for i := range n {
		snap.Clients = append(snap.Clients, fleet.ClientInfo{
			ID: fmt.Sprintf("c%07d", i), StreamID: "vid-0000001", Vhost: defaultVhost, App: "live", Stream: "s",
			IP: "10.0.0.9", TcURL: "rtmp://10.0.0.1/live", Type: "rtmp-play", ConnectedAt: t0.Add(-time.Minute),
		})
	}
	require.NoError(t, s.ApplySnapshot(snap))
	r.now = t0
	return r
}

// fixedSample is a full sample with the figures of SRS's captured examples.
func fixedSample() *sysstats.Sample {
	s := &sysstats.Sample{At: t0.Add(-time.Second)}
	s.Self = sysstats.Self{OK: true, PID: 3928, PPID: 1, Argv: "./objs/controlplane -c conf/srs.conf", Cwd: "/usr/local/srs",
		StartedAt: t0.Add(-3 * time.Second), CPUPercent: 0.0123, RSSKB: 19748, MemPercent: 0.0008}
	s.Rusage = sysstats.Rusage{OK: true, Rusage: syscall.Rusage{
		Utime: syscall.Timeval{Sec: 1, Usec: 500000}, Maxrss: 19748, Minflt: 2481, Majflt: 8, Inblock: 13752, Oublock: 32, Nvcsw: 202, Nivcsw: 4}}
	s.Proc = sysstats.ProcStat{OK: true, Percent: 0.0123, PID: 3928, Comm: "(controlplane)", State: "R"}
	for i := range s.Proc.Values {
		s.Proc.Values[i] = int64(i)
	}
	s.Proc.Values[21] = -1 // rsslim
	s.CPU = sysstats.CPU{OK: true, Percent: 1, User: 105939, Nice: 225, Sys: 24282, Idle: 23124, IOWait: 226, SoftIRQ: 1179, Steal: 543}
	s.Mem = sysstats.Meminfo{OK: true, RAMPercent: 0.0547, MemActive: 3065996, RealInUse: 1350836, NotInUse: 23333248,
		MemTotal: 24684084, MemFree: 21618088, Buffers: 23616, Cached: 1691544}
	s.Disk = sysstats.Disk{OK: true, ReadKBps: 12, WriteKBps: 34, BusyPercent: 0.015}
	s.Net = sysstats.Net{OK: true, RecvBytes: 1000, SendBytes: 2000, RecviBytes: 9843863280, SendiBytes: 8918803014}
	s.Conns = sysstats.Conns{OK: true, Sys: 93, Established: 2, TimeWait: 82, UDP: 1}
	s.Host = sysstats.Host{OK: true, CPUs: 2, CPUsOnline: 2, Uptime: 776.68, IdleTime: 231.23, Load1: 6.15, Load5: 6.53, Load15: 4.09}
	return s
}

func testSettings() Settings {
	return Settings{
		Crossdomain: true,
		HTTPAPI: HTTPAPISettings{Enabled: true, Listen: "1985", Crossdomain: true,
			RawAPI: RawAPISettings{Enabled: true, AllowReload: true}},
		Exporter: ExporterSettings{Enabled: true, Label: "cn-test", Tag: "edge"},
		Vhosts:   []VhostSettings{{Name: defaultVhost, Enabled: true}, {Name: "example.com", Enabled: true}},
	}
}

// testOptions wires an API to the registry with fixed identity, product,
// sample and clock; kicks succeed.
func testOptions(r *registry) Options {
	id := Identity{Server: "vid-h6q5969", Service: ServiceID("vid-h6q5969"), PID: 3928}
	return Options{
		Fleet: &fakeFleet{
			view: r.View,
			kick: func(context.Context, string) error { return nil },
		},
		Identity: func() Identity { return id },
		Settings: testSettings,
		Raw: &fakeRaw{
			reload: func() error { return nil },
			last:   ReloadStatus{Err: 1023, Msg: "code=1023(ConfigInvalid) : illegal directive bogus", State: 20, RID: "88t207y"},
		},
		Stats:   fakeStats{fixedSample()},
		Product: Product{Name: "tidecast", Version: "1.2.3", BuiltAt: t0.Add(-24 * time.Hour), License: "Apache-2.0", Contributors: "https://tidecast.dev/authors"},
		Clock:   func() time.Time { return r.now },
	}
}

// serve sends one request through h. header holds "Name: value" lines.
func serve(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for _, line := range header {
		k, v, _ := strings.Cut(line, ": ")
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
