package hub

import (
	"slices"
	"sync"
	"time"

	"tidecast.dev/dataplane/internal/media"
)

// Merged writes also flush on size, so that a high bitrate cannot build
// huge batches.
const (
	mwMaxMessages = 256
	mwMaxBytes    = 1 << 20
)

// Reader is one reader's view of a stream: a bounded queue that the
// publisher fills and the reader's writer drains with Next.
type Reader struct {
	s *stream
	// mw is the merged-write latency; mwMillis is the same in
	// milliseconds, to compare with timestamps.
	mw       time.Duration
	mwMillis uint32
	// timer bounds the wait for a merged batch in wall-clock time, for
	// when timestamps stall (a paused publisher).
	timer    *time.Timer
	stalled  func()
	maxMsgs  int
	maxBytes int
	// wake is signalled when a batch is ready; done is closed when the
	// reader fails or closes.
	wake chan struct{}
	done chan struct{}

	mu sync.Mutex
	// ring holds n packets from head; its length is a power of two and
	// grows up to maxMsgs.
	ring    []*Packet
	head, n int
	bytes   int
	// firstTS and since are the timestamp and arrival of the oldest
	// queued packet.
	firstTS uint32
	since   time.Time
	ready   bool
	// skipping drops media up to the next keyframe.
	skipping bool
	// overflows counts queue overflows since the writer last asked for a
	// batch; a second one means the writer is stuck.
	overflows int
	err       error
	detached  bool
}

func newReader(s *stream, ho Options, o ReaderOptions) *Reader {
	stalled := o.Stalled
	if stalled == nil {
		stalled = func() {}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	return &Reader{
		s:        s,
		mw:       o.MWLatency,
		mwMillis: uint32(o.MWLatency / time.Millisecond),
		timer:    timer,
		stalled:  stalled,
		maxMsgs:  ho.QueueMessages,
		maxBytes: ho.QueueBytes,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		ring:     make([]*Packet, 64),
	}
}

// StreamID returns the id of the stream read.
func (r *Reader) StreamID() media.StreamID { return r.s.id }

// Counters returns the stream's counters, to which the reading connection
// adds the bytes it sends.
func (r *Reader) Counters() *media.StreamCounters { return &r.s.counters }

// ChunkSize returns the chunk size the stream's packets are encoded with;
// the reader's peer must be told it before the first packet.
func (r *Reader) ChunkSize() int { return r.s.chunkSize }

// push offers p to the reader; the stream's mu is held.
func (r *Reader) push(p *Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	skippable := p.Kind == KindMedia && !p.Header
	if r.skipping && skippable {
		if !p.Keyframe {
			return
		}
		r.skipping = false
	}
	if r.n == r.maxMsgs || r.bytes+len(p.Wire) > r.maxBytes {
		if r.overflows++; r.overflows > 1 {
			r.failLocked(ErrStalled)
			r.stalled()
			return
		}
		// Fall back to the next keyframe, with the headers a decoder
		// needs to resume there.
		r.dropLocked()
		r.s.primeLocked(r)
		if skippable && !p.Keyframe {
			r.skipping = true
			return
		}
	}
	r.enqueueLocked(p)
	if r.mw <= 0 || !skippable || int32(p.Timestamp-r.firstTS) >= int32(r.mwMillis) ||
		r.n >= mwMaxMessages || r.bytes >= mwMaxBytes {
		r.signalLocked()
	}
}

// enqueueLocked appends p, growing the ring when full (callers check the
// bound).
func (r *Reader) enqueueLocked(p *Packet) {
	if r.n == len(r.ring) {
		grown := make([]*Packet, 2*len(r.ring))
		for i := range r.n {
			grown[i] = r.ring[(r.head+i)&(len(r.ring)-1)]
		}
		r.ring, r.head = grown, 0
	}
	if r.n == 0 {
		r.firstTS = p.Timestamp
		if r.mw > 0 {
			r.since = time.Now()
		}
	}
	r.ring[(r.head+r.n)&(len(r.ring)-1)] = p
	r.n++
	r.bytes += len(p.Wire)
}

func (r *Reader) dropLocked() {
	clear(r.ring)
	r.head, r.n, r.bytes = 0, 0, 0
}

// signalLocked marks the queue ready and wakes the writer.
func (r *Reader) signalLocked() {
	if r.n == 0 {
		return
	}
	r.ready = true
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Reader) failLocked(err error) {
	if r.err != nil {
		return
	}
	r.err = err
	r.dropLocked()
	close(r.done)
}

// Next waits for a batch and appends it to dst[:0]. A batch is ready when
// the queue spans the merged-write latency in media time, or its oldest
// packet waited that long. Next returns ErrStalled when the reader was cut
// off and ErrClosed after Close. Calling Next tells the hub that the
// previous batch was written.
func (r *Reader) Next(dst []*Packet) ([]*Packet, error) {
	dst = dst[:0]
	for {
		r.mu.Lock()
		r.overflows = 0
		if r.err != nil {
			err := r.err
			r.mu.Unlock()
			return dst, err
		}
		var wait time.Duration
		if !r.ready && r.n > 0 {
			if wait = r.mw - time.Since(r.since); wait <= 0 {
				r.ready = true
			}
		}
		if r.ready {
			dst = slices.Grow(dst, r.n)
			for i := range r.n {
				j := (r.head + i) & (len(r.ring) - 1)
				dst = append(dst, r.ring[j])
				r.ring[j] = nil
			}
			r.head, r.n, r.bytes, r.ready = 0, 0, 0, false
			r.mu.Unlock()
			return dst, nil
		}
		r.mu.Unlock()
		if wait <= 0 {
			select {
			case <-r.wake:
			case <-r.done:
			}
			continue
		}
		r.timer.Reset(wait)
		select {
		case <-r.wake:
		case <-r.done:
		case <-r.timer.C:
		}
		r.timer.Stop()
	}
}

// Close detaches the reader; a pending Next returns ErrClosed. The stream
// closes if it has neither publisher nor readers. Close is idempotent.
func (r *Reader) Close() {
	s, h := r.s, r.s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	r.mu.Lock()
	r.failLocked(ErrClosed)
	detached := r.detached
	r.detached = true
	r.mu.Unlock()
	if detached {
		return
	}
	if i := slices.Index(s.readers, r); i >= 0 {
		s.readers = slices.Delete(s.readers, i, i+1)
	}
	h.releaseLocked(s)
}
