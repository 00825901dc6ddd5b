package grpcserver

import (
	"container/list"
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/peer"
)

// Why a guard around the listener: gRPC holds a connection that never sends
// the HTTP/2 preface for its ConnectionTimeout (120 s by default), and one
// that sends the preface but no stream for as long as the client likes;
// silent connections from anyone who can reach the port would then eat the
// process's file descriptors. Only a stream carries the worker's
// credentials, so the guard counts every accepted connection as pending
// until a stream on it has authenticated (Server.Session tells it, by the
// connection's addresses), and closes it if that has not happened
// AuthTimeout after it was accepted.
//
// A timer per connection, rather than a deadline on the net.Conn: gRPC sets
// its own deadline for the handshake and clears it afterwards (so a
// deadline of ours would be wiped), and a read deadline would also cut a
// worker's stream that is silent for a while after authenticating.
//
// Beyond MaxPending pending connections the oldest pending one is closed
// to make room: refusing the newest instead would let a few hundred silent
// connections, renewed every AuthTimeout, keep every new worker out, while
// closing the oldest keeps a worker out only if a flood cycles through all
// the pending slots faster than the worker authenticates (a millisecond or
// so). Beyond MaxConns connections in all, a new one is refused, or, when
// some are pending, the oldest pending one is closed.

// connTracker keeps the connections of the server's listeners.
type connTracker struct {
	authTimeout          time.Duration
	maxPending, maxConns int

	mu      sync.Mutex
	byAddr  map[string]*guardedConn // pending connections, by their addresses
	pending list.List               // of *guardedConn, oldest first
	open    int                     // connections accepted and not closed
	stats   connStats
	stopped bool

	// drops bounds the lines logged about connections closed or refused
	// before they authenticated.
	drops *rateLog
	log   *slog.Logger
}

// connStats count the connections closed by the guard since it started.
type connStats struct {
	Evicted  int // pending, closed to make room for a newer one
	Refused  int // refused at once: MaxConns reached and none pending
	TimedOut int // not authenticated within AuthTimeout
}

// Reasons a connection is dropped, as logged.
const (
	dropEvicted  = "evicted"
	dropRefused  = "refused"
	dropTimedOut = "timed_out"
)

func newConnTracker(authTimeout time.Duration, maxPending, maxConns int, every time.Duration, log *slog.Logger) *connTracker {
	t := &connTracker{authTimeout: authTimeout, maxPending: maxPending, maxConns: maxConns, byAddr: map[string]*guardedConn{}, log: log}
	t.drops = newRateLog(every, func(counts map[string]int) {
		pending, open := t.counts()
		log.Warn("more fleet connections closed before authenticating", "in_last", every,
			dropEvicted, counts[dropEvicted], dropRefused, counts[dropRefused], dropTimedOut, counts[dropTimedOut],
			"pending", pending, "open", open)
	})
	return t
}

// dropped logs, at a bounded rate, that the connection from addr was closed
// for reason.
func (t *connTracker) dropped(reason string, addr net.Addr) {
	if !t.drops.note(reason) {
		return
	}
	pending, open := t.counts()
	t.log.Warn("fleet connection closed before authenticating", "reason", reason, "peer", addrString(addr),
		"auth_timeout", t.authTimeout, "max_pending", t.maxPending, "max_conns", t.maxConns, "pending", pending, "open", open)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// counts returns how many connections are pending and open.
func (t *connTracker) counts() (pending, open int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending.Len(), t.open
}

func (t *connTracker) snapshot() connStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// listener wraps lis: what it accepts is tracked.
func (t *connTracker) listener(lis net.Listener) net.Listener {
	return &guardedListener{Listener: lis, t: t}
}

type guardedListener struct {
	net.Listener
	t *connTracker
}

// Accept returns the next connection the guard admits.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if gc := l.t.admit(c); gc != nil {
			return gc, nil
		}
	}
}

// guardedConn is an accepted connection; its Close forgets it.
type guardedConn struct {
	net.Conn
	t     *connTracker
	key   string
	elem  *list.Element // in t.pending while pending, else nil
	timer *time.Timer   // closes it AuthTimeout after it was accepted
	gone  bool          // no longer counted
}

func connKey(local, remote net.Addr) string {
	if local == nil || remote == nil {
		return ""
	}
	return local.String() + " " + remote.String()
}

// admit tracks c as pending, making room for it if needed, or closes it
// and returns nil.
func (t *connTracker) admit(c net.Conn) *guardedConn {
	gc := &guardedConn{Conn: c, t: t, key: connKey(c.LocalAddr(), c.RemoteAddr())}
	var evict *guardedConn
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		c.Close()
		return nil
	}
	if t.pending.Len() >= t.maxPending || t.open >= t.maxConns {
		if t.pending.Len() == 0 {
			t.stats.Refused++
			t.mu.Unlock()
			c.Close()
			t.dropped(dropRefused, c.RemoteAddr())
			return nil
		}
		evict = t.pending.Front().Value.(*guardedConn)
		t.forgetLocked(evict)
		t.stats.Evicted++
	}
	t.open++
	gc.elem = t.pending.PushBack(gc)
	if gc.key != "" {
		t.byAddr[gc.key] = gc // a reused address replaces a closing connection
	}
	gc.timer = time.AfterFunc(t.authTimeout, gc.expire)
	t.mu.Unlock()
	if evict != nil {
		evict.Conn.Close()
		t.dropped(dropEvicted, evict.RemoteAddr())
	}
	return gc
}

// forgetLocked stops counting c.
func (t *connTracker) forgetLocked(c *guardedConn) {
	if c.gone {
		return
	}
	c.gone = true
	c.timer.Stop()
	if c.elem != nil {
		t.pending.Remove(c.elem)
		c.elem = nil
	}
	if t.byAddr[c.key] == c {
		delete(t.byAddr, c.key)
	}
	t.open--
}

// Close closes the connection and forgets it.
func (c *guardedConn) Close() error {
	c.t.mu.Lock()
	c.t.forgetLocked(c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// expire closes c if it is still pending.
func (c *guardedConn) expire() {
	t := c.t
	t.mu.Lock()
	if c.elem == nil {
		t.mu.Unlock()
		return
	}
	t.forgetLocked(c)
	t.stats.TimedOut++
	t.mu.Unlock()
	c.Conn.Close()
	t.dropped(dropTimedOut, c.RemoteAddr())
}

// authenticated marks the connection of the stream whose context is ctx as
// authenticated: it stays open.
func (t *connTracker) authenticated(ctx context.Context) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return
	}
	key := connKey(p.LocalAddr, p.Addr)
	if key == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.byAddr[key]; c != nil && c.elem != nil {
		c.timer.Stop()
		t.pending.Remove(c.elem)
		c.elem = nil
		delete(t.byAddr, key)
	}
}

// stop closes the pending connections and admits no more; authenticated
// ones are left to gRPC's stop.
func (t *connTracker) stop() {
	t.mu.Lock()
	t.stopped = true
	var pending []*guardedConn
	for e := t.pending.Front(); e != nil; e = e.Next() {
		pending = append(pending, e.Value.(*guardedConn))
	}
	for _, c := range pending {
		t.forgetLocked(c)
	}
	t.mu.Unlock()
	for _, c := range pending {
		c.Conn.Close()
	}
	t.drops.stop()
}

// rateLog bounds how often a kind of event is logged: the first of a run
// is logged in full by the caller (note returns true); the ones that
// follow are counted, by key, and summary logs the counts once an interval
// while there are any. However many events come, that is at most one line
// an interval after the first.
type rateLog struct {
	every   time.Duration
	summary func(counts map[string]int)

	mu      sync.Mutex
	window  bool // a line was logged less than an interval ago
	counts  map[string]int
	timer   *time.Timer
	stopped bool
}

func newRateLog(every time.Duration, summary func(map[string]int)) *rateLog {
	return &rateLog{every: every, summary: summary, counts: map[string]int{}}
}

// note records one event and reports whether the caller should log it in
// full now.
func (r *rateLog) note(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.stopped:
		return false
	case r.window:
		r.counts[key]++
		return false
	}
	r.window = true
	if r.timer == nil {
		r.timer = time.AfterFunc(r.every, r.tick)
	} else {
		r.timer.Reset(r.every)
	}
	return true
}

func (r *rateLog) tick() {
	r.mu.Lock()
	if r.stopped || len(r.counts) == 0 {
		r.window = false
		r.mu.Unlock()
		return
	}
	counts := r.counts
	r.counts = map[string]int{}
	r.timer.Reset(r.every)
	r.mu.Unlock()
	r.summary(counts)
}

func (r *rateLog) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}
