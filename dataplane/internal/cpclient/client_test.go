package cpclient

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
)

// fakeControlPlane is a Fleet server that records what workers send and
// lets the test push messages down.
type fakeControlPlane struct {
	fleetv1.UnimplementedFleetServer
	srv  *grpc.Server
	addr string

	mu      sync.Mutex
	tokens  []string
	hellos  []*fleetv1.Hello
	got     []*fleetv1.WorkerMessage
	streams []fleetv1.Fleet_SessionServer
	changed chan struct{}
}

func startFake(t *testing.T, addr string) *fakeControlPlane {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeControlPlane{srv: grpc.NewServer(), addr: lis.Addr().String(), changed: make(chan struct{}, 1)}
	fleetv1.RegisterFleetServer(f.srv, f)
	done := make(chan struct{})
	go func() { defer close(done); _ = f.srv.Serve(lis) }()
	t.Cleanup(func() { f.srv.Stop(); <-done })
	return f
}

func (f *fakeControlPlane) stop() { f.srv.Stop() }

func (f *fakeControlPlane) Session(stream fleetv1.Fleet_SessionServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	f.mu.Lock()
	f.tokens = append(f.tokens, md.Get("authorization")...)
	f.streams = append(f.streams, stream)
	f.mu.Unlock()
	for {
		m, err := stream.Recv()
		if err != nil {
			return nil
		}
		f.mu.Lock()
		if h := m.GetHello(); h != nil {
			f.hellos = append(f.hellos, h)
		}
		f.got = append(f.got, m)
		f.mu.Unlock()
		select {
		case f.changed <- struct{}{}:
		default:
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func (f *fakeControlPlane) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		f.mu.Lock()
		ok := cond()
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-f.changed:
		case <-tick.C:
		}
	}
}

func (f *fakeControlPlane) send(t *testing.T, m *fleetv1.ControlMessage) {
	t.Helper()
	f.mu.Lock()
	s := f.streams[len(f.streams)-1]
	f.mu.Unlock()
	if err := s.Send(m); err != nil {
		t.Fatal(err)
	}
}

type runningClient struct {
	*Client
	reg    *registry.Registry
	cancel context.CancelFunc
	done   chan error
}

func startClient(t *testing.T, cfg Config, apply func(media.Settings) error) *runningClient {
	t.Helper()
	reg := registry.New(nil)
	cfg.Hello = Hello{NodeID: "w1", BootID: "boot1", Version: "test"}
	cfg.MaxBackoff = 200 * time.Millisecond
	cfg.SampleEvery = 50 * time.Millisecond
	c, err := New(cfg, Deps{Registry: reg, Apply: apply})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rc := &runningClient{Client: c, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { rc.done <- c.Run(ctx) }()
	t.Cleanup(rc.stop)
	return rc
}

func (rc *runningClient) stop() {
	rc.cancel()
	<-rc.done
	rc.done <- nil // stop is idempotent
}

func TestASessionOpensWithHelloAndSnapshotThenStreamsEvents(t *testing.T) {
	cp := startFake(t, "127.0.0.1:0")
	rc := startClient(t, Config{Targets: []string{cp.addr}, Token: "s3cret"}, nil)
	cp.waitFor(t, "hello and snapshot", func() bool { return len(cp.got) >= 2 })
	cp.mu.Lock()
	first, second, tokens := cp.got[0], cp.got[1], slices.Clone(cp.tokens)
	cp.mu.Unlock()
	if first.GetHello().GetNodeId() != "w1" || second.GetSnapshot() == nil {
		t.Fatalf("first messages = %v, %v; want hello then snapshot", first, second)
	}
	if !slices.Contains(tokens, "Bearer s3cret") {
		t.Fatalf("tokens = %q, want the bearer token", tokens)
	}
	rc.reg.AddClient(media.ClientInfo{ID: "c1", Type: media.RTMPPlay}, &media.Counters{}, func() {})
	cp.waitFor(t, "client joined event", func() bool {
		return slices.ContainsFunc(cp.got, func(m *fleetv1.WorkerMessage) bool {
			return m.GetEvent().GetClientJoined().GetId() == "c1"
		})
	})
	cp.waitFor(t, "samples counting the client", func() bool {
		return slices.ContainsFunc(cp.got, func(m *fleetv1.WorkerMessage) bool { return m.GetSamples().GetClientsJoined() == 1 })
	})
	rc.stop()
}

func TestKickIsCarriedOutAndAnswered(t *testing.T) {
	cp := startFake(t, "127.0.0.1:0")
	rc := startClient(t, Config{Targets: []string{cp.addr}}, nil)
	kicked := make(chan struct{}, 1)
	rc.reg.AddClient(media.ClientInfo{ID: "c1"}, &media.Counters{}, func() { kicked <- struct{}{} })
	cp.waitFor(t, "session", func() bool { return len(cp.hellos) == 1 })
	cp.send(t, &fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Kick{Kick: &fleetv1.Kick{CommandId: "k1", ClientId: "c1"}}})
	cp.send(t, &fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Kick{Kick: &fleetv1.Kick{CommandId: "k2", ClientId: "nope"}}})
	cp.waitFor(t, "two command results", func() bool {
		n := 0
		for _, m := range cp.got {
			if m.GetCommandResult() != nil {
				n++
			}
		}
		return n == 2
	})
	<-kicked
	codes := map[string]int32{}
	cp.mu.Lock()
	for _, m := range cp.got {
		if r := m.GetCommandResult(); r != nil {
			codes[r.GetCommandId()] = r.GetCode()
		}
	}
	cp.mu.Unlock()
	if codes["k1"] != 0 || codes["k2"] != media.CodeClientNotFound {
		t.Fatalf("result codes = %v, want k1:0 k2:%d", codes, media.CodeClientNotFound)
	}
	rc.stop()
}

func TestConfigIsAppliedOncePerVersion(t *testing.T) {
	cp := startFake(t, "127.0.0.1:0")
	applied := make(chan media.Settings, 4)
	rc := startClient(t, Config{Targets: []string{cp.addr}}, func(s media.Settings) error { applied <- s; return nil })
	cp.waitFor(t, "session", func() bool { return len(cp.hellos) == 1 })
	cfg := &fleetv1.Config{Version: 7, RtmpListen: []string{":1935"}, Vhosts: []*fleetv1.VhostConfig{{Name: "__defaultVhost__", GopCache: true, MwLatencyMs: 350}}}
	cp.send(t, &fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Config{Config: cfg}})
	cp.send(t, &fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Config{Config: cfg}})
	cp.send(t, &fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Ping{Ping: &fleetv1.Ping{Nonce: 1}}})
	cp.waitFor(t, "pong", func() bool {
		return slices.ContainsFunc(cp.got, func(m *fleetv1.WorkerMessage) bool { return m.GetPong().GetNonce() == 1 })
	})
	s := <-applied
	if s.Version != 7 || len(s.Vhosts) != 1 || s.Vhosts[0].MWLatency != 350*time.Millisecond {
		t.Fatalf("applied settings = %+v", s)
	}
	if s.HTTPServer != (media.HTTPServerSettings{}) || s.Vhosts[0].HTTPRemux != (media.HTTPRemuxSettings{}) {
		t.Fatalf("a config without http_server or http_remux applied %+v and %+v, want them off", s.HTTPServer, s.Vhosts[0].HTTPRemux)
	}
	if len(applied) != 0 {
		t.Fatal("the same config version was applied twice")
	}
	rc.stop()
}

func TestTheSessionComesBackWhenTheControlPlaneRestarts(t *testing.T) {
	first := startFake(t, "127.0.0.1:0")
	rc := startClient(t, Config{Targets: []string{first.addr}}, nil)
	first.waitFor(t, "first session", func() bool { return len(first.hellos) == 1 })
	first.stop()
	second := startFake(t, first.addr)
	start := time.Now()
	second.waitFor(t, "session after restart", func() bool { return len(second.hellos) == 1 })
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("reconnected after %v, want within 2 s", d)
	}
	rc.stop()
}

func TestEveryAddressOfANameGetsItsOwnSession(t *testing.T) {
	a := startFake(t, "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(a.addr)
	b := startFake(t, net.JoinHostPort("127.0.0.2", port))
	lookup := func(_ context.Context, host string) ([]string, error) {
		if host != "replicas.test" {
			t.Errorf("looked up %q", host)
		}
		return []string{"127.0.0.1", "127.0.0.2"}, nil
	}
	rc := startClient(t, Config{Targets: []string{net.JoinHostPort("replicas.test", port)}, LookupHost: lookup}, nil)
	a.waitFor(t, "session on the first replica", func() bool { return len(a.hellos) == 1 })
	b.waitFor(t, "session on the second replica", func() bool { return len(b.hellos) == 1 })
	rc.stop()
}

// Every session, receiver and timer goroutine must be gone when the tests
// have stopped their clients and servers.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestReadvertisingSendsANewHelloOnOpenSessions(t *testing.T) {
	cp := startFake(t, "127.0.0.1:0")
	rc := startClient(t, Config{Targets: []string{cp.addr}}, nil)
	cp.waitFor(t, "first hello", func() bool { return len(cp.hellos) == 1 })
	rc.Readvertise([]string{"w1.example:1936"}, nil, nil)
	cp.waitFor(t, "second hello", func() bool {
		return len(cp.hellos) == 2 && slices.Equal(cp.hellos[1].GetRtmpAddresses(), []string{"w1.example:1936"})
	})
	rc.Readvertise([]string{"w1.example:1936"}, []string{"w1.example:8080"}, []string{"w1.example:8000"})
	cp.waitFor(t, "a hello with HTTP-FLV addresses", func() bool {
		return len(cp.hellos) == 3 && slices.Equal(cp.hellos[2].GetHttpAddresses(), []string{"w1.example:8080"}) &&
			slices.Equal(cp.hellos[2].GetRtmpAddresses(), []string{"w1.example:1936"}) &&
			slices.Equal(cp.hellos[2].GetWebrtcAddresses(), []string{"w1.example:8000"})
	})
	rc.Readvertise([]string{"w1.example:1936"}, nil, []string{"w1.example:8000"})
	cp.waitFor(t, "a hello without HTTP-FLV addresses", func() bool {
		return len(cp.hellos) == 4 && len(cp.hellos[3].GetHttpAddresses()) == 0 &&
			slices.Equal(cp.hellos[3].GetWebrtcAddresses(), []string{"w1.example:8000"})
	})
	rc.stop()
}
