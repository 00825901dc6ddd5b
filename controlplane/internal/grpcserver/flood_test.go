package grpcserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	fleetv1 "tidecast.dev/proto/fleet/v1"
)

// The guard against a real gRPC server on TCP. The timers themselves are
// tested in connguard_test.go; here a short AuthTimeout is only waited
// for where any closer will do, and elsewhere the timeout is an hour and
// expirePending plays its end.

// expirePending does what the pending connections' timers do when
// AuthTimeout ends.
func (t *connTracker) expirePending() {
	t.mu.Lock()
	var cs []*guardedConn
	for e := t.pending.Front(); e != nil; e = e.Next() {
		cs = append(cs, e.Value.(*guardedConn))
	}
	t.mu.Unlock()
	for _, c := range cs {
		c.expire()
	}
}

// http2Preface is what an HTTP/2 client sends first: the preface and an
// empty SETTINGS frame.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

// dialSilent opens n TCP connections that send nothing more than prefix.
func dialSilent(t *testing.T, addr string, n int, prefix string) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, prefix); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	return conns
}

// waitClosed waits until the server has closed c.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute)) // a hang guard
	_, err := io.Copy(io.Discard, c)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("a connection is still open after a minute")
	}
}

func openOn(t *testing.T, conn *grpc.ClientConn, token string) fleetv1.Fleet_SessionClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	s, err := fleetv1.NewFleetClient(conn).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSilentConnectionsToTheFleetPortAreClosed(t *testing.T) {
	h := newHarness(t, Config{Token: "t", AuthTimeout: 300 * time.Millisecond})
	// Silent from the start, and silent after HTTP/2's preface.
	conns := append(dialSilent(t, h.addr, 100, ""), dialSilent(t, h.addr, 20, http2Preface)...)
	for _, c := range conns {
		waitClosed(t, c)
	}
	if p, o := h.srv.conns.counts(); p != 0 || o != 0 {
		t.Fatalf("%d pending and %d open after every client saw its connection closed", p, o)
	}
}

func TestAConnectionWhoseStreamsDoNotAuthenticateIsClosedWhenTheAuthTimeoutEnds(t *testing.T) {
	h := newHarness(t, Config{Token: "t", AuthTimeout: time.Hour})
	for range 2 {
		s, _ := h.open(t, "wrong")
		if err := recvUntil(t, s, func(*fleetv1.ControlMessage) bool { return false }); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("stream ended with %v, want Unauthenticated", err)
		}
	}
	if p, o := h.srv.conns.counts(); p != 1 || o != 1 {
		t.Fatalf("after two refused streams: %d pending, %d open; want the connection pending", p, o)
	}
	h.srv.conns.expirePending()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	for st := h.conn.GetState(); st == connectivity.Ready; st = h.conn.GetState() {
		if !h.conn.WaitForStateChange(ctx, st) {
			t.Fatal("the connection is still ready a minute after the timeout")
		}
	}
	if s := h.srv.conns.snapshot(); s.TimedOut != 1 {
		t.Fatalf("stats %+v, want the connection timed out", s)
	}
}

func TestAWorkerSessionKeepsWorkingThroughAFloodOfSilentConnections(t *testing.T) {
	h := newHarness(t, Config{Token: "t", AuthTimeout: time.Hour, MaxPending: 8})
	w1, _ := h.open(t, "t")
	_ = w1.Send(helloMsg("w1"))
	if err := recvUntil(t, w1, func(m *fleetv1.ControlMessage) bool { return m.GetPing() != nil }); err != nil {
		t.Fatal(err)
	}

	flood := dialSilent(t, h.addr, 50, "")
	// Beyond 8 pending, each new connection pushes out the oldest.
	for _, c := range flood[:42] {
		waitClosed(t, c)
	}
	if p, o := h.srv.conns.counts(); p != 8 || o != 9 {
		t.Fatalf("during the flood: %d pending, %d open; want 8 and 9", p, o)
	}

	// A worker connecting during the flood gets in and stays.
	conn, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w2 := openOn(t, conn, "t")
	_ = w2.Send(helloMsg("w2"))
	if err := recvUntil(t, w2, func(m *fleetv1.ControlMessage) bool { return m.GetPing() != nil }); err != nil {
		t.Fatalf("a worker connecting during the flood: %v", err)
	}
	waitClosed(t, flood[42])

	h.srv.conns.expirePending()
	for _, c := range flood[43:] {
		waitClosed(t, c)
	}
	if p, o := h.srv.conns.counts(); p != 0 || o != 2 {
		t.Fatalf("after the flood: %d pending, %d open; want the 2 workers", p, o)
	}
	for _, w := range []fleetv1.Fleet_SessionClient{w1, w2} {
		if err := recvUntil(t, w, func(m *fleetv1.ControlMessage) bool { return m.GetPing() != nil }); err != nil {
			t.Fatalf("a worker's session after the flood: %v", err)
		}
	}
	if n := len(h.reg.View().Workers); n != 2 {
		t.Fatalf("%d workers in the view, want 2", n)
	}
	if s := h.srv.conns.snapshot(); s != (connStats{Evicted: 43, TimedOut: 7}) {
		t.Fatalf("stats %+v, want 43 evicted and 7 timed out", s)
	}
}

func TestRefusedSessionsAreLoggedAtABoundedRate(t *testing.T) {
	logs := &logRecorder{}
	h := newHarnessLogging(t, Config{Token: "t"}, slog.New(logs))
	start := time.Now()
	for range 50 {
		s, _ := h.open(t, "wrong")
		if err := recvUntil(t, s, func(*fleetv1.ControlMessage) bool { return false }); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("stream ended with %v, want Unauthenticated", err)
		}
	}
	elapsed := time.Since(start)
	full := 0
	for _, r := range logs.records() {
		if r.Message == "refused worker session" {
			full++
		}
	}
	// One line in full, then the rest counted, for each 10 s.
	if max := 1 + int(elapsed/refusedLogEvery); full < 1 || full > max {
		t.Fatalf("%d refusals logged in full for 50 in %v, want 1 to %d", full, elapsed, max)
	}
}
