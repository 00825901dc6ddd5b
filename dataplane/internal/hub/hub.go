// Package hub is the worker's stream hub: per stream key, one publisher
// feeds any number of readers, whatever protocol each of them speaks.
//
// Packets are codec-level (see Packet): a publisher's protocol turns what
// it receives into packets, and each reader's protocol turns packets into
// its output form (Form). A form is computed once per packet and shared
// by every reader that uses it, so the cost per reader is a pointer in a
// queue and a write. The hub keeps what a new reader needs to start at
// once: the metadata, the codec configurations and, when the vhost
// enables it, the packets since the last keyframe (the GOP cache).
// Timestamps are corrected once at ingest so that they stay monotonic
// across re-publishes for every reader.
//
// Readers cost no goroutine while they wait: when a reader's batch falls
// due (see Reader.push for the write policy), the goroutine that made it
// due hands the reader to its writer (ReaderOptions.Flush), which takes
// batches until none is due. One timer per stream bounds a batch's wait
// in wall-clock time; Close stops the timers and waits for a running one.
//
// A reader that falls behind never slows the publisher or the others: its
// queue is bounded; on overflow it is emptied and the reader resumes at
// the next keyframe; if it overflows again before its writer has taken a
// batch, the reader is stalled and is cut off.
//
// Locking: Hub.mu guards the stream table and stream lifetimes; a stream's
// mu guards its publisher, readers and caches; a reader's mu guards its
// queue. They nest in that order. The publisher's goroutine holds its
// stream's mu while it fans a packet out, and calls the writers after
// releasing it.
package hub

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"tidecast.dev/dataplane/internal/media"
)

// StreamRegistry is what the hub reports about streams. *registry.Registry
// satisfies it.
type StreamRegistry interface {
	NewStreamID() media.StreamID
	OpenStream(media.StreamInfo, *media.StreamCounters)
	CloseStream(media.StreamID)
	StartPublish(media.StreamID, media.ClientID)
	StopPublish(media.StreamID)
	SetCodecs(media.StreamID, *media.VideoInfo, *media.AudioInfo)
}

// Options tune the hub; zero values take the defaults.
type Options struct {
	// QueueMessages bounds a reader's queue in messages (default 4096).
	QueueMessages int
	// QueueBytes bounds a reader's queue in bytes (default 8 MiB).
	QueueBytes int
	// GOPMessages bounds the GOP cache; a longer GOP is not cached
	// (default 2500, SRS's gop_cache_max_frames).
	GOPMessages int
	Logger      *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.GOPMessages <= 0 {
		o.GOPMessages = 2500
	}
	if o.QueueMessages <= 0 {
		o.QueueMessages = 4096
	}
	// A new reader's queue must hold the headers and a full GOP.
	o.QueueMessages = max(o.QueueMessages, o.GOPMessages+headerPackets)
	if o.QueueBytes <= 0 {
		o.QueueBytes = 8 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Errors of the hub.
var (
	// ErrClosed: the reader was closed.
	ErrClosed = errors.New("hub: reader closed")
	// ErrStalled: the reader fell a full queue behind twice without its
	// writer making progress.
	ErrStalled = errors.New("hub: reader stalled")
	// ErrNotPublished: the stream has no publisher (see
	// ReaderOptions.Live).
	ErrNotPublished = errors.New("hub: stream not published")
)

// keyframeRequestEvery throttles keyframe requests to a publisher.
const keyframeRequestEvery = 500 * time.Millisecond

// Hub is safe for concurrent use. It owns no goroutines but the streams'
// timers' short runs, which Close ends.
type Hub struct {
	reg  StreamRegistry
	opts Options

	mu      sync.Mutex
	streams map[media.StreamKey]*stream
	closed  bool
	// timers counts the timer runs in progress, for Close to wait.
	timers sync.WaitGroup
}

// New makes an empty hub reporting to reg.
func New(reg StreamRegistry, opts Options) *Hub {
	return &Hub{reg: reg, opts: opts.withDefaults(), streams: make(map[media.StreamKey]*stream)}
}

// run runs a timer's work unless the hub is closed; Close waits for it.
func (h *Hub) run(f func()) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.timers.Add(1)
	h.mu.Unlock()
	defer h.timers.Done()
	f()
}

// Close stops the streams' timers and waits for a run in progress: no
// hub code runs on its own afterwards. Publishers and readers are the
// protocols' to close (before or after); batches then fall due only
// when a packet arrives.
func (h *Hub) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		for _, s := range h.streams {
			s.mu.Lock()
			if s.timer != nil {
				s.timer.Stop()
			}
			s.mu.Unlock()
		}
	}
	h.mu.Unlock()
	h.timers.Wait()
}

// Streams returns how many streams are open.
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

// acquireLocked returns the stream for key, opening it (and reporting it) when
// needed, with h.mu held.
func (h *Hub) acquireLocked(key media.StreamKey, tcURL string) *stream {
	if s := h.streams[key]; s != nil {
		return s
	}
	s := &stream{hub: h, key: key, id: h.reg.NewStreamID()}
	h.streams[key] = s
	h.reg.OpenStream(media.StreamInfo{ID: s.id, Key: key, TcURL: tcURL, CreatedAt: time.Now()}, &s.counters)
	h.opts.Logger.Debug("stream opened", "stream", s.id, "key", key.String())
	return s
}

// releaseLocked closes s when it has neither publisher nor readers; h.mu
// and s.mu are held.
func (h *Hub) releaseLocked(s *stream) {
	if s.publisher != nil || len(s.readers) > 0 || h.streams[s.key] != s {
		return
	}
	delete(h.streams, s.key)
	if s.timer != nil {
		s.timer.Stop()
	}
	h.reg.CloseStream(s.id)
	h.opts.Logger.Debug("stream closed", "stream", s.id, "key", s.key.String())
}

// PublishOptions are the settings a publisher runs with.
type PublishOptions struct {
	GOPCache bool
	// RequestKeyframe asks the publisher for a keyframe (a WebRTC PLI);
	// nil for publishers that cannot be asked (RTMP: the GOP cache serves
	// new readers). Readers' requests reach it at most every 500 ms. It
	// is called without hub locks and must not block.
	RequestKeyframe func()
	// Ingest, when set, runs once per packet on the publisher's goroutine
	// once the hub has set its timestamps, before any reader sees it: the
	// publisher's protocol may encode the packet in its own form there
	// (Packet.SetEncoded) and point Payload into those bytes, so that a
	// packet and its most used form share memory. It must leave Payload
	// as it was or equal.
	Ingest func(*Packet)
}

// Publish makes client the publisher of key. A stream that has one
// already answers media.ErrStreamBusy.
func (h *Hub) Publish(key media.StreamKey, client media.ClientID, tcURL string, o PublishOptions) (*Publisher, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.acquireLocked(key, tcURL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publisher != nil {
		return nil, media.ErrStreamBusy
	}
	p := &Publisher{s: s, client: client, requestKeyframe: o.RequestKeyframe, ingest: o.Ingest}
	s.publisher = p
	s.gopCache = o.GOPCache
	s.rebase = true
	h.reg.StartPublish(s.id, client)
	return p, nil
}

// ReaderOptions are the settings a reader runs with.
type ReaderOptions struct {
	// MWLatency merges writes: a batch falls due when the queue spans
	// more than this much media time (SRS's mw_latency), or its oldest
	// packet waited that long. 0 is realtime: a message falls due with
	// the next one of a later timestamp, or after realtimeHold.
	MWLatency time.Duration
	// Flush hands the reader to its writer when a batch falls due and no
	// writer holds it; the writer then takes batches with Take until none
	// is due. It is called without hub locks, from the publisher's
	// goroutine or the stream's timer, and must not block.
	Flush func()
	// Stalled is called (once, with hub locks held: it must only close
	// the connection) when the reader is cut off for stalling.
	Stalled func()
	// Live refuses a stream without a publisher (ErrNotPublished)
	// instead of waiting for one.
	Live bool
}

// Subscribe attaches a reader to key. It starts with the stream's
// metadata, codec configurations and GOP cache, due at once; without a
// publisher it waits for one (unless o.Live). The caller holds the new
// reader: it is its writer until Take lets go.
func (h *Hub) Subscribe(key media.StreamKey, tcURL string, o ReaderOptions) (*Reader, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o.Live {
		if s := h.streams[key]; s == nil || !s.published() {
			return nil, ErrNotPublished
		}
	}
	s := h.acquireLocked(key, tcURL)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := newReader(s, h.opts, o)
	r.mu.Lock()
	now := time.Now()
	s.primeLocked(r, now)
	if len(s.gop) > 0 {
		for _, p := range s.gop {
			r.enqueueLocked(p, now)
		}
	} else {
		r.skipping = true
	}
	r.due = r.n > 0
	r.mu.Unlock()
	s.readers = append(s.readers, r)
	return r, nil
}

// published tells whether s has a publisher.
func (s *stream) published() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publisher != nil
}
