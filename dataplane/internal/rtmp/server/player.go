package server

import (
	"errors"
	"net"
	"sync"

	"tidecast.dev/dataplane/internal/hub"
)

// player is a playing session: the hub reader and its writer.
//
// The writer runs on whichever goroutine holds the reader (hub.Reader):
// the one that made a batch due (the publisher's, a fan-out helper or the
// stream's timer), or the connection's for the first batches. It writes
// without waiting, so a player costs no goroutine of its own; when the
// socket (or a command reply holding it) would make it wait, a goroutine
// takes over until nothing is due, so the publisher never waits for a
// player.
type player struct {
	c *conn
	r *hub.Reader
	// notice is the encoded NetStream.Play.UnpublishNotify.
	notice []byte
	// Owned by the reader's holder: the batch taken and its bytes,
	// pending being what remains to write (a window on iov).
	pkts         []*hub.Packet
	iov, pending [][]byte
	nb           net.Buffers
	// wg joins the waiting writers.
	wg sync.WaitGroup
}

// write is the reader's writer (its Flush): it writes due batches as far
// as the socket takes them at once.
func (p *player) write() {
	c := p.c
	if !c.wmu.TryLock() {
		p.handOff()
		return
	}
	for p.next() {
		if err := c.armWriteDeadline(); err != nil {
			c.wmu.Unlock()
			p.fail(err)
			return
		}
		n, err := c.nb.writeNow(p.pending)
		c.countSent(int64(n))
		p.advance(n)
		if err != nil {
			c.wmu.Unlock()
			p.fail(err)
			return
		}
		if len(p.pending) > 0 { // the socket is full
			c.wmu.Unlock()
			p.handOff()
			return
		}
	}
	c.wmu.Unlock()
}

// handOff passes the reader to a writer that waits for the socket.
func (p *player) handOff() {
	p.wg.Add(1)
	go p.writeWaiting()
}

// writeWaiting writes under the write deadline until nothing is due.
func (p *player) writeWaiting() {
	defer p.wg.Done()
	c := p.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for p.next() {
		if err := c.armWriteDeadline(); err != nil {
			p.fail(err)
			return
		}
		p.nb = p.pending
		n, err := p.nb.WriteTo(c.nc)
		c.countSent(n)
		p.advance(int(n))
		if err != nil {
			p.fail(err)
			return
		}
	}
}

// next makes sure something is pending: what the last write left, else
// the next due batch. It returns false when the reader was let go.
func (p *player) next() bool {
	if len(p.pending) > 0 {
		return true
	}
	var err error
	if p.pkts, err = p.r.Take(p.pkts); err != nil {
		if errors.Is(err, hub.ErrStalled) {
			p.c.log.Warn("player stalled: disconnected")
		}
		return false
	}
	p.iov = p.iov[:0]
	for _, pk := range p.pkts {
		if pk.Kind == hub.KindUnpublished {
			p.iov = append(p.iov, p.notice)
		} else {
			p.iov = append(p.iov, pk.Wire)
		}
	}
	clear(p.pkts)
	p.pending = p.iov
	return len(p.pending) > 0
}

// advance drops the n bytes written from the front of pending.
func (p *player) advance(n int) {
	for n > 0 && len(p.pending) > 0 {
		if k := len(p.pending[0]); n < k {
			p.pending[0] = p.pending[0][n:]
			return
		}
		n -= len(p.pending[0])
		p.pending[0] = nil // keep no packet alive
		p.pending = p.pending[1:]
	}
}

// fail ends a player whose connection failed: the connection closes and
// the reader lets its writer go.
func (p *player) fail(err error) {
	p.c.log.Debug("player write", "err", err)
	p.c.writeErr.CompareAndSwap(nil, &err)
	p.c.kick()
	p.pending = nil
	p.r.Abort()
}
