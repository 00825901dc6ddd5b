package grpcserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/peer"
)

// The guard's timers are tested in synctest bubbles, on a listener of
// net.Pipe connections: time moves only when every goroutine waits, so
// "before" and "after" the timeout are exact.

// pipeListener accepts the connections dial makes.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return serverAddr }

var serverAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1988}

// addrConn gives a pipe the addresses of a TCP connection.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) LocalAddr() net.Addr  { return serverAddr }
func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// rig runs a tracker's listener the way gRPC does: a goroutine accepts and
// holds what it is given, reading nothing.
type rig struct {
	t        *testing.T
	lis      *pipeListener
	tr       *connTracker
	logs     *logRecorder
	accepted chan net.Conn
	clients  []*pipeClient
	closed   atomic.Int64 // clients whose connection the server closed
	nextPort int
}

type pipeClient struct {
	net.Conn
	remote net.Addr
	gone   chan struct{} // closed when the server closed the connection
}

func newRig(t *testing.T, authTimeout time.Duration, maxPending, maxConns int) *rig {
	r := &rig{t: t, lis: newPipeListener(), logs: &logRecorder{}, accepted: make(chan net.Conn, 100_000), nextPort: 10000}
	r.tr = newConnTracker(authTimeout, maxPending, maxConns, 10*time.Second, slog.New(r.logs))
	gl := r.tr.listener(r.lis)
	go func() {
		for {
			c, err := gl.Accept()
			if err != nil {
				return
			}
			r.accepted <- c
		}
	}()
	return r
}

// dial opens a connection and waits until the guard took it (admitted or
// closed).
func (r *rig) dial() *pipeClient {
	client, server := net.Pipe()
	r.nextPort++
	c := &pipeClient{Conn: client, remote: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: r.nextPort}, gone: make(chan struct{})}
	r.lis.conns <- addrConn{Conn: server, remote: c.remote}
	go func() {
		_, _ = io.Copy(io.Discard, client)
		r.closed.Add(1)
		close(c.gone)
	}()
	r.clients = append(r.clients, c)
	synctest.Wait()
	return c
}

// authenticate does what Server.Session does once a stream on c's
// connection authenticated.
func (r *rig) authenticate(c *pipeClient) {
	r.tr.authenticated(peer.NewContext(context.Background(), &peer.Peer{Addr: c.remote, LocalAddr: serverAddr}))
}

func (c *pipeClient) isOpen() bool {
	select {
	case <-c.gone:
		return false
	default:
		return true
	}
}

// close ends everything the rig started, as the bubble requires.
func (r *rig) close() {
	r.tr.stop()
	r.lis.Close()
	for _, c := range r.clients {
		c.Close()
	}
	synctest.Wait()
}

func (r *rig) wantCounts(pending, open int) {
	r.t.Helper()
	if p, o := r.tr.counts(); p != pending || o != open {
		r.t.Fatalf("pending %d, open %d; want %d and %d", p, o, pending, open)
	}
}

func TestSilentConnectionsAreClosedWhenTheAuthTimeoutEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 5*time.Second, 1000, 1000)
		defer r.close()
		for range 500 {
			r.dial()
		}
		r.wantCounts(500, 500)
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		if n := r.closed.Load(); n != 0 {
			t.Fatalf("%d connections closed before the timeout", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := r.closed.Load(); n != 500 {
			t.Fatalf("%d of 500 silent connections closed at the timeout", n)
		}
		r.wantCounts(0, 0)
		if s := r.tr.snapshot(); s != (connStats{TimedOut: 500}) {
			t.Fatalf("stats %+v, want 500 timed out", s)
		}
	})
}

func TestAnAuthenticatedConnectionStaysOpenAfterTheAuthTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 5*time.Second, 10, 10)
		defer r.close()
		worker, silent := r.dial(), r.dial()
		time.Sleep(time.Second)
		r.authenticate(worker)
		r.wantCounts(1, 2)
		time.Sleep(time.Hour)
		synctest.Wait()
		if !worker.isOpen() || silent.isOpen() {
			t.Fatalf("after an hour: worker open %v, silent open %v; want true, false", worker.isOpen(), silent.isOpen())
		}
		r.wantCounts(0, 1)
	})
}

func TestBeyondThePendingCapTheOldestPendingConnectionIsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 5*time.Second, 8, 1000)
		defer r.close()
		var cs []*pipeClient
		for range 20 {
			cs = append(cs, r.dial())
		}
		for i, c := range cs {
			if want := i >= 12; c.isOpen() != want {
				t.Fatalf("connection %d of 20 open: %v, want %v (the newest 8 stay)", i, c.isOpen(), want)
			}
		}
		r.wantCounts(8, 8)
		// An authenticated connection is not pending: newer ones do not
		// push it out.
		r.authenticate(cs[12])
		for range 8 {
			r.dial()
		}
		if !cs[12].isOpen() || cs[13].isOpen() {
			t.Fatalf("after 8 more: authenticated open %v, next pending open %v; want true, false", cs[12].isOpen(), cs[13].isOpen())
		}
		r.wantCounts(8, 9)
		if s := r.tr.snapshot(); s != (connStats{Evicted: 12 + 7}) {
			t.Fatalf("stats %+v, want 19 evicted", s)
		}
	})
}

func TestBeyondTheConnectionCapNewConnectionsAreRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 5*time.Second, 4, 6)
		defer r.close()
		var workers []*pipeClient
		for range 6 {
			w := r.dial()
			r.authenticate(w)
			workers = append(workers, w)
		}
		r.wantCounts(0, 6)
		for range 3 {
			if c := r.dial(); c.isOpen() {
				t.Fatal("a connection beyond the cap was accepted")
			}
		}
		for i, w := range workers {
			if !w.isOpen() {
				t.Fatalf("worker %d closed by the refusals", i)
			}
		}
		// A worker leaves: a new connection is admitted; at the cap again,
		// the next one closes it while it is still pending.
		(<-r.accepted).Close() // as gRPC does when the worker's connection ends
		first := r.dial()
		r.wantCounts(1, 6)
		second := r.dial()
		if first.isOpen() || !second.isOpen() {
			t.Fatalf("at the cap with one pending: older open %v, newer open %v; want false, true", first.isOpen(), second.isOpen())
		}
		if s := r.tr.snapshot(); s != (connStats{Refused: 3, Evicted: 1}) {
			t.Fatalf("stats %+v, want 3 refused and 1 evicted", s)
		}
	})
}

func TestDroppedConnectionsAreLoggedAtMostOnceAnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 5*time.Second, 1, 1000)
		defer r.close()
		start := time.Now()
		// A minute of flood, a connection every 10 ms, each pushing out
		// the one before.
		for range 6000 {
			r.dial()
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Minute) // the last one times out, the counts are logged
		synctest.Wait()
		s := r.tr.snapshot()
		if s.Evicted != 5999 || s.TimedOut != 1 {
			t.Fatalf("stats %+v, want 5999 evicted and 1 timed out", s)
		}

		recs := r.logs.records()
		if len(recs) == 0 {
			t.Fatal("nothing logged")
		}
		// One line at once, then one an interval with the counts.
		if max := 1 + int(time.Since(start)/(10*time.Second)); len(recs) > max {
			t.Fatalf("%d lines logged in %v, want at most %d", len(recs), time.Since(start), max)
		}
		logged := 0
		for i, rec := range recs {
			if i > 0 && rec.Time.Sub(recs[i-1].Time) < 10*time.Second {
				t.Fatalf("lines %d and %d logged %v apart", i-1, i, rec.Time.Sub(recs[i-1].Time))
			}
			if rec.Message == "fleet connection closed before authenticating" {
				logged++
				continue
			}
			logged += attrInt(rec, dropEvicted) + attrInt(rec, dropRefused) + attrInt(rec, dropTimedOut)
		}
		if logged != 6000 {
			t.Fatalf("the lines account for %d dropped connections, want 6000", logged)
		}
		if recs[0].Message != "fleet connection closed before authenticating" || recs[0].Time != start.Add(10*time.Millisecond) {
			t.Fatalf("first line %q at %v, want the first drop in full at once", recs[0].Message, recs[0].Time.Sub(start))
		}
	})
}

func TestStopClosesThePendingConnectionsAndRefusesNewOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, 5*time.Second, 10, 10)
		defer r.close()
		worker, silent := r.dial(), r.dial()
		r.authenticate(worker)
		r.tr.stop()
		synctest.Wait()
		if !worker.isOpen() || silent.isOpen() {
			t.Fatalf("after stop: worker open %v, silent open %v; want true (gRPC ends it), false", worker.isOpen(), silent.isOpen())
		}
		if c := r.dial(); c.isOpen() {
			t.Fatal("a connection was admitted after stop")
		}
	})
}

// logRecorder is a slog.Handler that keeps the records.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *logRecorder) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.recs...)
}

func attrInt(r slog.Record, key string) int {
	n := 0
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			n = int(a.Value.Int64())
			return false
		}
		return true
	})
	return n
}
