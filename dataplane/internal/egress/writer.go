// Package egress writes streams to client connections for every protocol
// that sends a byte stream over TCP (RTMP, HTTP-FLV): a hub reader's
// batches go out with one writev each, without a goroutine per reader.
//
// The writer runs on whichever goroutine holds the reader (hub.Reader):
// the one that made a batch due (the publisher's, a fan-out helper or the
// stream's timer), or the connection's for the first batches. It writes
// without waiting; when the socket (or another write holding the
// connection) would make it wait, a goroutine takes over until nothing is
// due, so the publisher never waits for a reader.
package egress

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
)

// Conn is a client connection that media is written to. Its writes are
// serialised, run under a write deadline and are counted.
type Conn struct {
	nc           net.Conn
	nb           *nbConn
	writeTimeout time.Duration
	counters     *media.Counters
	// stream receives the bytes sent while playing.
	stream atomic.Pointer[media.StreamCounters]
	// writeErr is the write error that made a writer close the
	// connection: the reason the reading side then sees only as a close.
	writeErr atomic.Pointer[error]

	// mu serialises writes and guards nb's write side and deadlineSet,
	// when the write deadline was last pushed.
	mu          sync.Mutex
	deadlineSet time.Time
}

// NewConn wraps nc; counters receive the bytes written (and read, by the
// caller).
func NewConn(nc net.Conn, counters *media.Counters, writeTimeout time.Duration) *Conn {
	return &Conn{nc: nc, nb: newNBConn(nc), writeTimeout: writeTimeout, counters: counters}
}

// Write sends p under the write deadline and counts it.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.armWriteDeadline(); err != nil {
		return 0, err
	}
	n, err := c.nc.Write(p)
	c.countSent(int64(n))
	return n, err
}

// ReadNow reads what the socket holds into p without waiting; ok is false
// when that is nothing (the next blocking read will tell why). Only the
// connection's reading goroutine calls it.
func (c *Conn) ReadNow(p []byte) (n int, ok bool) { return c.nb.readNow(p) }

// SetStream makes the bytes written count for a stream too (nil: no
// longer).
func (c *Conn) SetStream(sc *media.StreamCounters) { c.stream.Store(sc) }

// WriteErr returns the write error that made a writer close the
// connection, if any.
func (c *Conn) WriteErr() error {
	if e := c.writeErr.Load(); e != nil {
		return *e
	}
	return nil
}

// Close closes the connection at once; every goroutine using it then
// winds down. It is safe from any goroutine, any number of times.
func (c *Conn) Close() error { return c.nc.Close() }

// armWriteDeadline keeps the write deadline between half writeTimeout and
// writeTimeout ahead of any write, pushing it at most every half
// writeTimeout rather than before each write (which costs a timer update
// each); mu is held.
func (c *Conn) armWriteDeadline() error {
	now := time.Now()
	if now.Sub(c.deadlineSet) < c.writeTimeout/2 {
		return nil
	}
	c.deadlineSet = now
	return c.nc.SetWriteDeadline(now.Add(c.writeTimeout))
}

func (c *Conn) countSent(n int64) {
	c.counters.SendBytes.Add(uint64(n))
	if sc := c.stream.Load(); sc != nil {
		sc.SendBytes.Add(uint64(n))
	}
}

// Framer turns a batch of packets into the buffers to write: the
// packets' shared encodings (hub.Packet.Encoded) and whatever framing
// the protocol adds. end asks to close the connection once the buffers
// are written (the stream ended). Only the reader's holder calls it.
type Framer interface {
	Frame(iov [][]byte, pkts []*hub.Packet) (out [][]byte, end bool)
}

// ErrEnded is the write error of a connection closed because its framer
// ended the stream.
var ErrEnded = errors.New("egress: stream ended")

// Writer writes a hub reader's batches to a connection.
type Writer struct {
	c     *Conn
	frame Framer
	log   *slog.Logger
	r     *hub.Reader
	// Owned by the reader's holder: the batch taken and its bytes,
	// pending being what remains to write (a window on iov); end is set
	// once the framer ended the stream.
	pkts         []*hub.Packet
	iov, pending [][]byte
	nb           net.Buffers
	end          bool
	// wg joins the waiting writers.
	wg sync.WaitGroup
}

// NewWriter makes the writer of c's media; Start gives it its reader.
func NewWriter(c *Conn, frame Framer, log *slog.Logger) *Writer {
	return &Writer{c: c, frame: frame, log: log}
}

// Start is for the holder of a new reader whose Flush is w.Flush: w
// writes its first batches and, from then on, takes it when it falls due.
func (w *Writer) Start(r *hub.Reader) {
	w.r = r
	w.Flush()
}

// Flush is the reader's writer (its hub.ReaderOptions.Flush): it writes
// due batches as far as the socket takes them at once.
func (w *Writer) Flush() {
	c := w.c
	if !c.mu.TryLock() {
		w.handOff()
		return
	}
	for w.next() {
		if err := c.armWriteDeadline(); err != nil {
			c.mu.Unlock()
			w.fail(err)
			return
		}
		n, err := c.nb.writeNow(w.pending)
		c.countSent(int64(n))
		w.advance(n)
		if err != nil {
			c.mu.Unlock()
			w.fail(err)
			return
		}
		if len(w.pending) > 0 { // the socket is full
			c.mu.Unlock()
			w.handOff()
			return
		}
	}
	c.mu.Unlock()
}

// handOff passes the reader to a writer that waits for the socket.
func (w *Writer) handOff() {
	w.wg.Add(1)
	go w.writeWaiting()
}

// writeWaiting writes under the write deadline until nothing is due.
func (w *Writer) writeWaiting() {
	defer w.wg.Done()
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for w.next() {
		if err := c.armWriteDeadline(); err != nil {
			w.fail(err)
			return
		}
		w.nb = w.pending
		n, err := w.nb.WriteTo(c.nc)
		c.countSent(n)
		w.advance(int(n))
		if err != nil {
			w.fail(err)
			return
		}
	}
}

// next makes sure something is pending: what the last write left, else
// the next due batch. It returns false when the reader was let go.
func (w *Writer) next() bool {
	for len(w.pending) == 0 {
		if w.end {
			w.fail(ErrEnded)
			return false
		}
		var err error
		if w.pkts, err = w.r.Take(w.pkts); err != nil {
			if errors.Is(err, hub.ErrStalled) {
				w.log.Warn("player stalled: disconnected")
			}
			return false
		}
		if len(w.pkts) == 0 {
			return false
		}
		w.iov, w.end = w.frame.Frame(w.iov[:0], w.pkts)
		clear(w.pkts)
		w.pending = w.iov
	}
	return true
}

// advance drops the n bytes written from the front of pending.
func (w *Writer) advance(n int) {
	for len(w.pending) > 0 {
		if k := len(w.pending[0]); n < k {
			w.pending[0] = w.pending[0][n:]
			return
		}
		n -= len(w.pending[0])
		w.pending[0] = nil // keep no packet alive
		w.pending = w.pending[1:]
	}
}

// fail ends a reader whose connection failed (or whose stream ended):
// the connection closes and the reader lets its writer go.
func (w *Writer) fail(err error) {
	w.log.Debug("player write", "err", err)
	w.c.writeErr.CompareAndSwap(nil, &err)
	w.c.Close()
	w.pending = nil
	w.r.Abort()
}

// Close detaches the reader and waits until no writer runs: the reader
// has let its writer go and the waiting writers have returned.
func (w *Writer) Close() {
	if w.r == nil {
		return
	}
	w.r.Close()
	<-w.r.Released()
	w.wg.Wait()
}
