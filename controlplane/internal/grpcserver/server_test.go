package grpcserver

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/controlplane/internal/config"
	"tidecast.dev/controlplane/internal/fleet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type harness struct {
	reg  *fleet.Registry
	srv  *Server
	conn *grpc.ClientConn
	addr string
}

func newHarness(t *testing.T, cfg Config) *harness {
	return newHarnessLogging(t, cfg, nil)
}

func newHarnessLogging(t *testing.T, cfg Config, log *slog.Logger) *harness {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{reg: fleet.New(3*time.Second, nil), addr: lis.Addr().String()}
	h.srv = New(cfg, h.reg, log)
	served := make(chan struct{})
	go func() { defer close(served); _ = h.srv.Serve(lis) }()
	h.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h.srv.Stop(ctx)
		<-served
	})
	return h
}

func (h *harness) open(t *testing.T, token string) (fleetv1.Fleet_SessionClient, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	s, err := fleetv1.NewFleetClient(h.conn).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return s, cancel
}

func helloMsg(node string) *fleetv1.WorkerMessage {
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{NodeId: node, BootId: "b1"}}}
}

func snapshotMsg(seq uint64, clients ...string) *fleetv1.WorkerMessage {
	snap := &fleetv1.Snapshot{Seq: seq}
	for _, c := range clients {
		snap.Clients = append(snap.Clients, &fleetv1.Client{Id: c})
	}
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Snapshot{Snapshot: snap}}
}

// recvUntil reads the stream until pick accepts a message or it ends.
func recvUntil(t *testing.T, s fleetv1.Fleet_SessionClient, pick func(*fleetv1.ControlMessage) bool) error {
	t.Helper()
	for {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		if pick(m) {
			return nil
		}
	}
}

func TestASessionWithAWrongTokenIsRefusedAndInjectsNothing(t *testing.T) {
	h := newHarness(t, Config{Token: "right"})
	s, _ := h.open(t, "wrong")
	_ = s.Send(helloMsg("intruder"))
	_ = s.Send(snapshotMsg(1, "evil0001"))
	err := recvUntil(t, s, func(*fleetv1.ControlMessage) bool { return true })
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("stream ended with %v, want Unauthenticated", err)
	}
	if v := h.reg.View(); len(v.Workers) != 0 || len(v.Clients) != 0 {
		t.Fatalf("view = %d workers, %d clients; want nothing injected", len(v.Workers), len(v.Clients))
	}
	if err := h.srv.Kick(context.Background(), "evil0001"); fleet.CodeOf(err) != fleet.CodeClientNotFound {
		t.Fatalf("kick of the intruder's client: %v, want not found", err)
	}
}

func TestASessionWithoutATokenIsRefusedWhenOneIsConfigured(t *testing.T) {
	h := newHarness(t, Config{Token: "right"})
	s, _ := h.open(t, "")
	_ = s.Send(helloMsg("w1"))
	if err := recvUntil(t, s, func(*fleetv1.ControlMessage) bool { return true }); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("stream ended with %v, want Unauthenticated", err)
	}
}

func TestWithNoTokenConfiguredLoopbackWorkersAreAccepted(t *testing.T) {
	h := newHarness(t, Config{})
	s, _ := h.open(t, "")
	if err := s.Send(helloMsg("w1")); err != nil {
		t.Fatal(err)
	}
	if err := recvUntil(t, s, func(m *fleetv1.ControlMessage) bool { return m.GetPing() != nil }); err != nil {
		t.Fatalf("no ping on an accepted session: %v", err)
	}
}

func TestAStreamThatDoesNotStartWithHelloIsRefused(t *testing.T) {
	h := newHarness(t, Config{Token: "t"})
	for _, tc := range []struct {
		name  string
		first *fleetv1.WorkerMessage
	}{
		{"a snapshot first", snapshotMsg(1, "c1")},
		{"a hello without node id", &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{BootId: "b"}}}},
		{"a hello without boot id", &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{NodeId: "n"}}}},
		{"an empty message", &fleetv1.WorkerMessage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := h.open(t, "t")
			_ = s.Send(tc.first)
			if err := recvUntil(t, s, func(*fleetv1.ControlMessage) bool { return false }); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("stream ended with %v, want InvalidArgument", err)
			}
			if n := len(h.reg.View().Workers); n != 0 {
				t.Fatalf("%d workers attached", n)
			}
		})
	}
}

func TestASilentNewStreamIsClosedAfterTheHelloTimeout(t *testing.T) {
	h := newHarness(t, Config{Token: "t", HelloTimeout: 100 * time.Millisecond})
	s, _ := h.open(t, "t")
	if err := recvUntil(t, s, func(*fleetv1.ControlMessage) bool { return false }); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("stream ended with %v, want DeadlineExceeded", err)
	}
}

func TestAGapInEventsAsksTheWorkerForASnapshot(t *testing.T) {
	h := newHarness(t, Config{Token: "t"})
	s, _ := h.open(t, "t")
	_ = s.Send(helloMsg("w1"))
	_ = s.Send(snapshotMsg(5))
	_ = s.Send(&fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Event{Event: &fleetv1.Event{
		Seq: 9, Kind: &fleetv1.Event_ClientLeft{ClientLeft: "c1"},
	}}})
	if err := recvUntil(t, s, func(m *fleetv1.ControlMessage) bool { return m.GetResync() != nil }); err != nil {
		t.Fatalf("no resync after a gap: %v", err)
	}
}

func TestConfigIsPushedOnConnectAndOnChange(t *testing.T) {
	h := newHarness(t, Config{Token: "t"})
	cfg := config.Defaults()
	h.srv.SetWorkerConfig(cfg)
	s, _ := h.open(t, "t")
	_ = s.Send(helloMsg("w1"))
	var first uint64
	if err := recvUntil(t, s, func(m *fleetv1.ControlMessage) bool { first = m.GetConfig().GetVersion(); return first != 0 }); err != nil {
		t.Fatal(err)
	}
	// The same settings give the same version on every replica.
	if again := workerConfig(cfg).GetVersion(); again != first {
		t.Fatalf("version %d then %d for the same settings", first, again)
	}
	changed := cfg.Clone()
	changed.ChunkSize = 4096
	h.srv.SetWorkerConfig(changed)
	var next *fleetv1.Config
	if err := recvUntil(t, s, func(m *fleetv1.ControlMessage) bool { next = m.GetConfig(); return next != nil }); err != nil {
		t.Fatal(err)
	}
	if next.GetVersion() == first || next.GetChunkSize() != 4096 {
		t.Fatalf("pushed config = version %d chunk %d, want a new version with chunk 4096", next.GetVersion(), next.GetChunkSize())
	}
}

func TestAKickThatTheWorkerNeverAnswersTimesOut(t *testing.T) {
	h := newHarness(t, Config{Token: "t", CommandTimeout: 100 * time.Millisecond})
	s, _ := h.open(t, "t")
	_ = s.Send(helloMsg("w1"))
	_ = s.Send(snapshotMsg(1, "c1"))
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for _, ok := h.reg.View().Client("c1"); !ok; _, ok = h.reg.View().Client("c1") {
		if time.Now().After(deadline) {
			t.Fatal("snapshot not applied within 5 s")
		}
		<-tick.C
	}
	if err := h.srv.Kick(context.Background(), "c1"); fleet.CodeOf(err) != fleet.CodeWorkerTimeout {
		t.Fatalf("kick: %v, want a timeout (code %d)", err, fleet.CodeWorkerTimeout)
	}
}

func TestStopEndsOpenSessionsAtOnce(t *testing.T) {
	h := newHarness(t, Config{Token: "t"})
	s, _ := h.open(t, "t")
	_ = s.Send(helloMsg("w1"))
	if err := recvUntil(t, s, func(m *fleetv1.ControlMessage) bool { return m.GetPing() != nil }); err != nil {
		t.Fatal(err)
	}
	// Stop waits for the handlers until ctx ends, then forces the
	// transport closed: it must not come to that.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h.srv.Stop(ctx)
	if ctx.Err() != nil {
		t.Fatal("Stop waited for the open session until it forced it closed")
	}
	if err := recvUntil(t, s, func(*fleetv1.ControlMessage) bool { return false }); status.Code(err) != codes.Unavailable {
		t.Fatalf("session ended with %v, want Unavailable", err)
	}
}
