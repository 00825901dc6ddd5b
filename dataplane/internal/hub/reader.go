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

// takeMax bounds a batch Take returns (more stays due), and so the
// writers' scratch: a new reader's GOP alone can be hundreds of packets.
const takeMax = 64

// Realtime readers follow SRS's rule (a message goes out once a later one
// follows it), but a message waits only when the stream's next message
// is due within realtimeSoon (see stream.expectSoon), and never longer
// than realtimeHold: a message that would wait long goes out at once.
// For AAC and 30 fps video, whose messages come 0 to 23 ms apart, that
// pairs about four messages in five (0.59 writes per message, against
// 0.5 for pairing them all) for at most 12 ms of added delay, instead of
// up to a message interval.
const (
	realtimeSoon = 12 * time.Millisecond
	realtimeHold = 15 * time.Millisecond
)

// minRing is the queue's initial size; a queue grown for a burst (a GOP)
// shrinks back while the batches taken fill less than a quarter of it.
const minRing = 16

// Reader is one reader's view of a stream: a bounded queue that the
// publisher fills, drained by the reader's writer.
//
// The writer holds the reader from Subscribe, and again from each Flush
// call, until Take finds nothing due and lets go. So exactly one writer at
// a time takes batches, and a reader costs no goroutine while it waits:
// the hub calls Flush from the goroutine that made a batch due (the
// publisher's, or the stream's timer), without holding any lock.
type Reader struct {
	s *stream
	// mw is the merged-write latency, to compare with timestamps; hold
	// bounds the wait in wall-clock time.
	mw       time.Duration
	hold     time.Duration
	flush    func()
	stalled  func()
	maxMsgs  int
	maxBytes int
	// released is closed once the reader has failed and no writer holds
	// it: Flush is never called again.
	released chan struct{}

	mu sync.Mutex
	// ring holds n packets from head; its length is a power of two and
	// grows up to maxMsgs.
	ring    []*Packet
	head, n int
	bytes   int
	// firstTS and since are the timestamp and arrival of the oldest
	// queued packet.
	firstTS time.Duration
	since   time.Time
	// due: the queue holds a batch to write. held: a writer holds the
	// reader.
	due, held bool
	// skipping drops media up to the next keyframe.
	skipping bool
	// overflows counts queue overflows since the writer last took a
	// batch; a second one means the writer is stuck.
	overflows int
	err       error
	detached  bool
}

func newReader(s *stream, ho Options, o ReaderOptions) *Reader {
	flush, stalled := o.Flush, o.Stalled
	if flush == nil {
		flush = func() {}
	}
	if stalled == nil {
		stalled = func() {}
	}
	hold := o.MWLatency
	if hold <= 0 {
		hold = realtimeHold
	}
	return &Reader{
		s:        s,
		mw:       max(o.MWLatency, 0),
		hold:     hold,
		flush:    flush,
		stalled:  stalled,
		maxMsgs:  ho.QueueMessages,
		maxBytes: ho.QueueBytes,
		released: make(chan struct{}),
		ring:     make([]*Packet, minRing),
		held:     true, // by the subscriber
	}
}

// StreamID returns the id of the stream read.
func (r *Reader) StreamID() media.StreamID { return r.s.id }

// Counters returns the stream's counters, to which the reading connection
// adds the bytes it sends.
func (r *Reader) Counters() *media.StreamCounters { return &r.s.counters }

// RequestKeyframe asks the stream's publisher for a keyframe, for a
// reader that cannot start or resume without one; requests are
// throttled per stream (see PublishOptions.RequestKeyframe).
func (r *Reader) RequestKeyframe() { r.s.requestKeyframe() }

// push offers p to the reader, arrived at now; the stream's mu is held.
// It reports whether the caller must call r.flush once it has released
// the stream's lock.
func (r *Reader) push(p *Packet, now time.Time, soon bool) (flush bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false
	}
	skippable := !p.header()
	if r.skipping && skippable {
		if !p.Keyframe {
			return false
		}
		r.skipping = false
	}
	if r.n == r.maxMsgs || r.bytes+p.size() > r.maxBytes {
		if r.overflows++; r.overflows > 1 {
			r.failLocked(ErrStalled)
			r.stalled()
			return false
		}
		// Fall back to the next keyframe, with the headers a decoder
		// needs to resume there.
		r.dropLocked()
		r.s.primeLocked(r, now)
		if skippable && !p.Keyframe {
			r.skipping = true
			return false
		}
	}
	r.enqueueLocked(p, now)
	// SRS's rule: media is written once the queue spans more than the
	// merged-write latency. In realtime (0) that is as soon as a later
	// message follows, or at once when none is expected soon (see
	// realtimeSoon). Headers go at once.
	if !skippable || p.DTS-r.firstTS > r.mw || (r.mw == 0 && !soon) ||
		r.n >= mwMaxMessages || r.bytes >= mwMaxBytes {
		return r.dueLocked()
	}
	if r.n == 1 {
		// Bound the wait in wall-clock time too, for when timestamps
		// stall (a paused publisher).
		r.s.armLocked(now.Add(r.hold))
	}
	return false
}

// enqueueLocked appends p, growing the ring when full (callers check the
// bound).
func (r *Reader) enqueueLocked(p *Packet, now time.Time) {
	if r.n == len(r.ring) {
		grown := make([]*Packet, 2*len(r.ring))
		for i := range r.n {
			grown[i] = r.ring[(r.head+i)&(len(r.ring)-1)]
		}
		r.ring, r.head = grown, 0
	}
	if r.n == 0 {
		r.firstTS, r.since = p.DTS, now
	}
	r.ring[(r.head+r.n)&(len(r.ring)-1)] = p
	r.n++
	r.bytes += p.size()
}

func (r *Reader) dropLocked() {
	clear(r.ring)
	r.head, r.n, r.bytes, r.due = 0, 0, 0, false
}

// dueLocked marks the queue due; it reports whether the reader has no
// writer, in which case it now has one: the caller must call r.flush
// once it has released the hub's locks.
func (r *Reader) dueLocked() bool {
	if r.n == 0 {
		return false
	}
	r.due = true
	if r.held {
		return false
	}
	r.held = true
	return true
}

// expireLocked makes a batch due once its oldest packet has waited the
// hold; otherwise it returns when that will be (zero:
// nothing waits). The stream's mu is held.
func (r *Reader) expireLocked(now time.Time) (flush bool, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || r.n == 0 || r.due {
		return false, time.Time{}
	}
	if at = r.since.Add(r.hold); now.Before(at) {
		return false, at
	}
	return r.dueLocked(), time.Time{}
}

func (r *Reader) failLocked(err error) {
	if r.err != nil {
		return
	}
	r.err = err
	r.dropLocked()
	if !r.held {
		close(r.released)
	}
}

// releaseLocked lets go of the writer.
func (r *Reader) releaseLocked() {
	if !r.held {
		return
	}
	r.held = false
	if r.err != nil {
		close(r.released)
	}
}

// Take is for the writer holding the reader: it appends the due batch (at
// most takeMax packets of it) to dst[:0]. With nothing due it lets the
// reader go and returns no packets (Flush will be called when a batch
// falls due); once the reader has failed it lets go and returns
// ErrStalled or ErrClosed. Calling Take tells the hub that the previous
// batch was written.
func (r *Reader) Take(dst []*Packet) ([]*Packet, error) {
	dst = dst[:0]
	r.mu.Lock()
	defer r.mu.Unlock()
	r.overflows = 0
	if r.err != nil {
		r.releaseLocked()
		return dst, r.err
	}
	if !r.due && r.n > 0 && time.Since(r.since) >= r.hold {
		r.due = true // before the stream's timer saw it
	}
	if !r.due {
		r.releaseLocked()
		return dst, nil
	}
	k := min(r.n, takeMax)
	dst = slices.Grow(dst, k)
	for range k {
		p := r.ring[r.head]
		dst = append(dst, p)
		r.ring[r.head] = nil
		r.head = (r.head + 1) & (len(r.ring) - 1)
		r.n--
		r.bytes -= p.size()
	}
	if r.n == 0 {
		r.head, r.due = 0, false
		if len(r.ring) > minRing && 4*k <= len(r.ring) {
			r.ring = make([]*Packet, len(r.ring)/2)
		}
	} else {
		r.firstTS = r.ring[r.head].DTS
	}
	return dst, nil
}

// Abort is for the writer holding the reader when it cannot write any
// more (its connection failed): the reader closes and lets go.
func (r *Reader) Abort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failLocked(ErrClosed)
	r.releaseLocked()
}

// Released is closed once the reader has been closed (or has failed) and
// its writer has let go: Flush will not be called again.
func (r *Reader) Released() <-chan struct{} { return r.released }

// Close detaches the reader; its writer's next Take returns ErrClosed. The
// stream closes if it has neither publisher nor readers. Close is
// idempotent and does not wait for the writer (see Released).
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
