// Package registry is the worker's record of what it serves: streams,
// clients and their counters. Media adapters (RTMP, WebRTC) tell it what
// happens; control-plane sessions subscribe to it and get a full snapshot
// followed by numbered events.
//
// Concurrency: one mutex guards the tables and the event sequence. Media
// goroutines take it only when a client or stream comes or goes, never per
// packet (packet counters are atomics read by Sample). Publishing an event
// never blocks: a subscriber whose queue is full is marked for resync and
// gets a fresh snapshot instead of the events it missed.
package registry

import (
	"maps"
	"slices"
	"sync"
	"time"

	"tidecast.dev/dataplane/internal/media"
)

// StreamState is a stream as the control plane sees it.
type StreamState struct {
	Info        media.StreamInfo
	Publishing  bool
	PublisherID media.ClientID
	Video       *media.VideoInfo
	Audio       *media.AudioInfo
}

// EventKind says what an Event reports.
type EventKind int

// The events a subscriber receives.
const (
	StreamOpened EventKind = iota + 1
	StreamClosed
	ClientJoined
	ClientLeft
	PublishStarted
	PublishStopped
	CodecChanged
)

// Event is one change, numbered in the worker-wide sequence.
type Event struct {
	Seq  uint64
	At   time.Time
	Kind EventKind
	// Stream is set for StreamOpened.
	Stream *StreamState
	// StreamID is set for StreamClosed, PublishStarted, PublishStopped and
	// CodecChanged.
	StreamID media.StreamID
	// Client is set for ClientJoined.
	Client *media.ClientInfo
	// ClientID is set for ClientLeft and PublishStarted.
	ClientID media.ClientID
	// Video and Audio are set for CodecChanged (nil: no such track).
	Video *media.VideoInfo
	Audio *media.AudioInfo
}

// Snapshot is the full state as of event Seq.
type Snapshot struct {
	Seq     uint64
	TakenAt time.Time
	Streams []StreamState
	Clients []media.ClientInfo
}

type streamEntry struct {
	state    StreamState
	counters *media.StreamCounters
}

type clientEntry struct {
	info     media.ClientInfo
	counters *media.Counters
	kick     func()
	// kicked: the client was kicked through Kick, which ends its session
	// gracefully whatever its connection reports.
	kicked bool
}

// Registry is safe for concurrent use.
type Registry struct {
	now func() time.Time

	mu      sync.Mutex
	seq     uint64
	streams map[media.StreamID]*streamEntry
	clients map[media.ClientID]*clientEntry
	subs    map[*Subscription]struct{}
	// closed holds the bytes of clients that have left, so worker totals
	// stay cumulative.
	closedSend, closedRecv uint64
	// joined counts the clients added since boot; failed, those of them
	// removed with an error.
	joined, failed uint64
}

// New makes an empty registry. now may be nil (time.Now).
func New(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{
		now:     now,
		streams: make(map[media.StreamID]*streamEntry),
		clients: make(map[media.ClientID]*clientEntry),
		subs:    make(map[*Subscription]struct{}),
	}
}

// NewClientID returns a client id not in use on this worker.
func (r *Registry) NewClientID() media.ClientID {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		id := media.NewClientID()
		if _, taken := r.clients[id]; !taken {
			return id
		}
	}
}

// NewStreamID returns a stream id not in use on this worker.
func (r *Registry) NewStreamID() media.StreamID {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		id := media.NewStreamID()
		if _, taken := r.streams[id]; !taken {
			return id
		}
	}
}

// OpenStream records a new stream; counters are read by Sample.
func (r *Registry) OpenStream(info media.StreamInfo, counters *media.StreamCounters) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := &streamEntry{state: StreamState{Info: info}, counters: counters}
	r.streams[info.ID] = e
	st := e.state
	r.publishLocked(Event{Kind: StreamOpened, Stream: &st, StreamID: info.ID})
}

// CloseStream forgets a stream.
func (r *Registry) CloseStream(id media.StreamID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.streams[id]; !ok {
		return
	}
	delete(r.streams, id)
	r.publishLocked(Event{Kind: StreamClosed, StreamID: id})
}

// StartPublish marks the stream as published by client.
func (r *Registry) StartPublish(id media.StreamID, client media.ClientID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.streams[id]
	if !ok {
		return
	}
	e.state.Publishing = true
	e.state.PublisherID = client
	r.publishLocked(Event{Kind: PublishStarted, StreamID: id, ClientID: client})
}

// StopPublish marks the stream as no longer published; its codecs are
// forgotten as SRS does.
func (r *Registry) StopPublish(id media.StreamID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.streams[id]
	if !ok {
		return
	}
	e.state.Publishing = false
	e.state.Video, e.state.Audio = nil, nil
	r.publishLocked(Event{Kind: PublishStopped, StreamID: id})
}

// SetCodecs records the stream's tracks (nil: no such track).
func (r *Registry) SetCodecs(id media.StreamID, video *media.VideoInfo, audio *media.AudioInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.streams[id]
	if !ok {
		return
	}
	e.state.Video, e.state.Audio = clonePtr(video), clonePtr(audio)
	r.publishLocked(Event{Kind: CodecChanged, StreamID: id, Video: clonePtr(video), Audio: clonePtr(audio)})
}

// AddClient records a client. kick must close the client's connection
// promptly and may be called from any goroutine, more than once.
func (r *Registry) AddClient(info media.ClientInfo, counters *media.Counters, kick func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients[info.ID] = &clientEntry{info: info, counters: counters, kick: kick}
	r.joined++
	c := info
	r.publishLocked(Event{Kind: ClientJoined, Client: &c, ClientID: info.ID})
}

// RemoveClient forgets a client. err is why its session ended: nil when
// it ended gracefully, else the error, which counts the client as failed
// unless it was kicked through Kick: an operator's kick is a graceful
// end, whatever error the closed connection then reports.
func (r *Registry) RemoveClient(id media.ClientID, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.clients[id]
	if !ok {
		return
	}
	if err != nil && !e.kicked {
		r.failed++
	}
	r.closedSend += e.counters.SendBytes.Load()
	r.closedRecv += e.counters.RecvBytes.Load()
	delete(r.clients, id)
	r.publishLocked(Event{Kind: ClientLeft, ClientID: id})
}

// Kick closes a client's connection. The client leaves the registry when
// its connection has wound down.
func (r *Registry) Kick(id media.ClientID) error {
	r.mu.Lock()
	e, ok := r.clients[id]
	if ok {
		e.kicked = true
	}
	r.mu.Unlock()
	if !ok {
		return media.ErrClientNotFound
	}
	e.kick()
	return nil
}

// Clients returns how many clients are connected.
func (r *Registry) Clients() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}

// snapshotLocked copies the tables, sorted by id so snapshots are stable.
func (r *Registry) snapshotLocked() Snapshot {
	s := Snapshot{Seq: r.seq, TakenAt: r.now()}
	s.Streams = make([]StreamState, 0, len(r.streams))
	for _, id := range slices.Sorted(maps.Keys(r.streams)) {
		st := r.streams[id].state
		st.Video, st.Audio = clonePtr(st.Video), clonePtr(st.Audio)
		s.Streams = append(s.Streams, st)
	}
	s.Clients = make([]media.ClientInfo, 0, len(r.clients))
	for _, id := range slices.Sorted(maps.Keys(r.clients)) {
		s.Clients = append(s.Clients, r.clients[id].info)
	}
	return s
}

// Snapshot returns the full state.
func (r *Registry) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked()
}

func (r *Registry) publishLocked(ev Event) {
	r.seq++
	ev.Seq = r.seq
	ev.At = r.now()
	for s := range r.subs {
		s.offer(ev)
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
