package fleet

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrGap means an event arrived whose predecessor is missing: the
	// worker must send a snapshot.
	ErrGap = errors.New("fleet: gap in event sequence")
	// ErrSuperseded means the session was replaced by a newer one for the
	// same worker; its messages are ignored.
	ErrSuperseded = errors.New("fleet: session superseded")
	// ErrUnsynced means an event came before the first snapshot.
	ErrUnsynced = errors.New("fleet: event before snapshot")
)

type streamState struct {
	info  StreamInfo
	rates rateWindow
	live  live[streamTraffic]
}

type clientState struct {
	info  ClientInfo
	rates rateWindow
	live  live[Traffic]
	view  *Client // built once, while info stays the same
}

type worker struct {
	hello       Hello
	connectedAt time.Time
	lastSeen    time.Time
	current     *Session // the session whose reports count
	connected   bool
	synced      bool
	seq         uint64
	streams     map[string]*streamState
	clients     map[string]*clientState
	rates       rateWindow
	live        live[workerLive]
	// piece is this worker's part of the view; nil when its membership
	// changed since it was built.
	piece *piece
}

// Registry holds the fleet. It is safe for concurrent use: sessions write
// under the lock; readers take an immutable View, rebuilt only when the
// membership changed, whose traffic figures are read live.
type Registry struct {
	now      func() time.Time
	expireAt time.Duration

	mu      sync.Mutex
	workers map[NodeID]*worker

	membership atomic.Uint64 // bumped (under mu) when anyone comes, goes or changes
	building   sync.Mutex    // one view build at a time
	view       atomic.Pointer[View]
}

// New makes an empty registry. Workers silent for expireAfter are dropped
// with everything they served. now may be nil (time.Now).
func New(expireAfter time.Duration, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	r := &Registry{now: now, expireAt: expireAfter, workers: make(map[NodeID]*worker)}
	r.view.Store(merge(nil, 0, now()))
	return r
}

// changedLocked records a membership change of w (nil: only the worker
// set changed).
func (r *Registry) changedLocked(w *worker) {
	if w != nil {
		w.piece = nil
	}
	r.membership.Add(1)
}

// Session is one stream from one worker. Its methods are called by the
// goroutine that reads that stream.
type Session struct {
	r    *Registry
	node NodeID
	w    *worker
}

// Attach starts a session for a worker. A hello with a new boot id replaces
// all state held for the node; one with the same boot id takes over from
// the previous session, keeping its state until a snapshot arrives.
func (r *Registry) Attach(h Hello) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	w, ok := r.workers[h.Node]
	if !ok || w.hello.Boot != h.Boot {
		w = &worker{
			connectedAt: now,
			streams:     make(map[string]*streamState),
			clients:     make(map[string]*clientState),
		}
		r.workers[h.Node] = w
	}
	w.hello = h
	w.connected = true
	s := &Session{r: r, node: h.Node, w: w}
	w.current = s
	w.seen(now)
	r.changedLocked(w)
	return s
}

func (w *worker) seen(now time.Time) {
	w.lastSeen = now
	l := w.live.load()
	l.LastSeen = now
	w.live.store(l)
}

// lockCurrent locks the registry and returns the worker when s still
// speaks for it.
func (s *Session) lockCurrent() (*worker, error) {
	s.r.mu.Lock()
	w := s.r.workers[s.node]
	if w == nil || w != s.w || w.current != s {
		s.r.mu.Unlock()
		return nil, ErrSuperseded
	}
	w.seen(s.r.now())
	return w, nil
}

// Touch records that the worker is alive.
func (s *Session) Touch() error {
	if _, err := s.lockCurrent(); err != nil {
		return err
	}
	s.r.mu.Unlock()
	return nil
}

// ErrIdentityChanged: a hello on an open session named another node or
// boot.
var ErrIdentityChanged = errors.New("fleet: hello changed the worker's identity")

// UpdateHello takes a new hello from an open session: the advertised
// addresses may change, the node and boot may not.
func (s *Session) UpdateHello(h Hello) error {
	w, err := s.lockCurrent()
	if err != nil {
		return err
	}
	defer s.r.mu.Unlock()
	if h.Node != w.hello.Node || h.Boot != w.hello.Boot {
		return ErrIdentityChanged
	}
	w.hello = h
	s.r.changedLocked(w)
	return nil
}

// Detach ends the session. The worker's state stays until it expires, so a
// worker that reconnects at once loses nothing from the view.
func (s *Session) Detach() {
	w, err := s.lockCurrent()
	if err != nil {
		return
	}
	defer s.r.mu.Unlock()
	w.connected = false
	w.current = nil
	s.r.changedLocked(w)
}

// ApplySnapshot replaces the worker's streams and clients. A snapshot older
// than what is held is dropped.
func (s *Session) ApplySnapshot(snap Snapshot) error {
	w, err := s.lockCurrent()
	if err != nil {
		return err
	}
	defer s.r.mu.Unlock()
	if w.synced && snap.Seq < w.seq {
		return nil
	}
	streams := make(map[string]*streamState, len(snap.Streams))
	for _, st := range snap.Streams {
		if old, ok := w.streams[st.ID]; ok {
			old.info = st // keep its counters and rates
			streams[st.ID] = old
		} else {
			streams[st.ID] = &streamState{info: st}
		}
	}
	clients := make(map[string]*clientState, len(snap.Clients))
	for _, c := range snap.Clients {
		if old, ok := w.clients[c.ID]; ok {
			if old.info != c {
				old.info, old.view = c, nil
			}
			clients[c.ID] = old
		} else {
			clients[c.ID] = &clientState{info: c}
		}
	}
	w.streams, w.clients = streams, clients
	w.seq = snap.Seq
	w.synced = true
	s.r.changedLocked(w)
	return nil
}

// ApplyEvent applies one event. It returns ErrGap when events are missing
// (the caller asks the worker for a snapshot) and drops events it has
// already seen.
func (s *Session) ApplyEvent(ev Event) error {
	w, err := s.lockCurrent()
	if err != nil {
		return err
	}
	defer s.r.mu.Unlock()
	switch {
	case !w.synced:
		return ErrUnsynced
	case ev.Seq <= w.seq:
		return nil
	case ev.Seq > w.seq+1:
		return ErrGap
	}
	w.seq = ev.Seq
	switch ev.Kind {
	case StreamOpened:
		if ev.Stream != nil {
			w.streams[ev.Stream.ID] = &streamState{info: *ev.Stream}
		}
	case StreamClosed:
		delete(w.streams, ev.StreamID)
	case ClientJoined:
		if ev.Client != nil {
			w.clients[ev.Client.ID] = &clientState{info: *ev.Client}
		}
	case ClientLeft:
		delete(w.clients, ev.ClientID)
	case PublishStarted:
		if st, ok := w.streams[ev.StreamID]; ok {
			st.info.Publishing = true
			st.info.PublisherID = ev.ClientID
		}
	case PublishStopped:
		if st, ok := w.streams[ev.StreamID]; ok {
			st.info.Publishing = false
			st.info.Video, st.info.Audio = nil, nil
		}
	case CodecChanged:
		if st, ok := w.streams[ev.StreamID]; ok {
			st.info.Video, st.info.Audio = ev.Video, ev.Audio
		}
	}
	s.r.changedLocked(w)
	return nil
}

func traffic(w *rateWindow, at time.Time, c Counters) Traffic {
	w.add(at, c)
	return Traffic{Counters: c, Rates: Rates{Average: w.over(AverageSpan), Current: w.over(CurrentSpan)}}
}

// ApplySamples records the worker's counters; views see them at once,
// without a rebuild.
func (s *Session) ApplySamples(smp Samples) error {
	w, err := s.lockCurrent()
	if err != nil {
		return err
	}
	defer s.r.mu.Unlock()
	for id, c := range smp.Clients {
		if e, ok := w.clients[id]; ok {
			e.live.store(traffic(&e.rates, smp.At, c))
		}
	}
	for id, c := range smp.Streams {
		if e, ok := w.streams[id]; ok {
			e.live.store(streamTraffic{Traffic: traffic(&e.rates, smp.At, c.Counters), Frames: c.Frames})
		}
	}
	l := w.live.load()
	l.Traffic = traffic(&w.rates, smp.At, smp.Total)
	w.live.store(l)
	return nil
}

// ApplyNodeStats records the worker's host and process figures.
func (s *Session) ApplyNodeStats(ns NodeStats) error {
	w, err := s.lockCurrent()
	if err != nil {
		return err
	}
	defer s.r.mu.Unlock()
	l := w.live.load()
	l.Stats = ns
	w.live.store(l)
	return nil
}

// Expire drops workers silent for longer than the expiry time, and those
// whose session ended without a new one within a third of it (a worker
// that crashed closes its stream at once; one reconnecting is back well
// within that). It reports how many it dropped.
func (r *Registry) Expire() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	n := 0
	for id, w := range r.workers {
		silent := now.Sub(w.lastSeen)
		if silent > r.expireAt || (!w.connected && silent > r.expireAt/3) {
			delete(r.workers, id)
			n++
		}
	}
	if n > 0 {
		r.changedLocked(nil)
	}
	return n
}

// OwnerOf returns the worker serving a client.
func (r *Registry) OwnerOf(clientID string) (NodeID, bool) {
	c, ok := r.View().Client(clientID)
	if !ok {
		return "", false
	}
	return c.Node, true
}
