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

// The states below keep their pointer-free counters last, so that the
// garbage collector reads only the words before them.

type streamState struct {
	info StreamInfo
	live live[streamTraffic]
	ring totalRing
}

type clientState struct {
	// client is the client as views show it; a changed client gets a new
	// one, since views are immutable.
	client *Client
	live   live[Traffic]
	ring   clientRing
}

// expiredWorker is what the registry keeps of an expired worker.
type expiredWorker struct {
	boot   BootID
	totals sinceBoot
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
	vhostIDs    map[string]string // vhost name → VhostID, computed once
	live        live[workerLive]
	// piece is this worker's part of the view; nil when its membership
	// changed since it was built.
	piece *piece
	clock sampleClock
	total totalRing
}

// Registry holds the fleet. It is safe for concurrent use: sessions write
// under the lock; readers take an immutable View, rebuilt only when the
// membership changed, whose traffic figures are read live.
type Registry struct {
	now      func() time.Time
	expireAt time.Duration

	mu      sync.Mutex
	workers map[NodeID]*worker
	// gone sums the bytes and clients of the workers dropped since start:
	// expired, or replaced by a new boot. expired keeps an expired
	// worker's boot and totals until its node comes back: with the same
	// boot (it was cut off, not restarted), it carries on from its totals
	// rather than counting them twice. Entries of nodes that never come
	// back stay, a few dozen bytes each.
	gone    sinceBoot
	expired map[NodeID]expiredWorker

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
	r := &Registry{now: now, expireAt: expireAfter, workers: make(map[NodeID]*worker), expired: make(map[NodeID]expiredWorker)}
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
		if ok { // replaced by a new boot: its totals are final
			r.gone = r.gone.add(w.live.load().sinceBoot())
		}
		w = &worker{
			connectedAt: now,
			streams:     make(map[string]*streamState),
			clients:     make(map[string]*clientState),
			vhostIDs:    make(map[string]string),
		}
		kept := r.takeExpired(h)
		w.live.store(workerLive{Traffic: Traffic{Counters: kept.Counters}, ClientTotals: kept.ClientTotals})
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

// takeExpired forgets the node's expired worker, if any. When h is the
// same boot back, its totals move from gone to the returned ones, which
// its reports carry on from.
func (r *Registry) takeExpired(h Hello) sinceBoot {
	e, ok := r.expired[h.Node]
	delete(r.expired, h.Node)
	if !ok || e.boot != h.Boot {
		return sinceBoot{}
	}
	r.gone = r.gone.sub(e.totals)
	return e.totals
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
			if old.client.ClientInfo != c {
				old.client = w.clientView(c, &old.live)
			}
			clients[c.ID] = old
		} else {
			clients[c.ID] = w.newClient(c)
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
			w.clients[ev.Client.ID] = w.newClient(*ev.Client)
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

func (w *worker) newClient(info ClientInfo) *clientState {
	e := &clientState{}
	e.client = w.clientView(info, &e.live)
	return e
}

func (w *worker) clientView(info ClientInfo, l *live[Traffic]) *Client {
	return &Client{ClientInfo: info, Node: w.hello.Node, VhostID: w.vhostID(info.Vhost), live: l}
}

// vhostID is VhostID, computed once per worker and name: a snapshot of
// thousands of clients in one vhost hashes its name once, and the clients
// share the string.
func (w *worker) vhostID(name string) string {
	id, ok := w.vhostIDs[name]
	if !ok {
		id = VhostID(name)
		w.vhostIDs[name] = id
	}
	return id
}

// ApplySamples records the worker's counters; views see them at once,
// without a rebuild.
func (s *Session) ApplySamples(smp Samples) error {
	w, err := s.lockCurrent()
	if err != nil {
		return err
	}
	defer s.r.mu.Unlock()
	c := &w.clock
	fresh := c.advance(smp.At)
	// One allocation holds every client's figures, rather than one each:
	// a client's pointer keeps it alive until the client's next sample.
	figures := make([]Traffic, len(smp.Clients))
	for i, v := range smp.Clients {
		if e, ok := w.clients[v.ID]; ok {
			if fresh {
				e.ring.record(c, v.Counters)
			}
			figures[i] = e.ring.traffic(c, v.Counters)
			e.live.set(&figures[i])
		}
	}
	for _, v := range smp.Streams {
		if e, ok := w.streams[v.ID]; ok {
			if fresh {
				e.ring.record(c, v.Counters)
			}
			e.live.store(streamTraffic{Traffic: e.ring.traffic(c, v.Counters), Frames: v.Frames})
		}
	}
	if fresh {
		w.total.record(c, smp.Total)
	}
	l := w.live.load()
	l.Traffic = w.total.traffic(c, smp.Total)
	l.ClientTotals = smp.ClientTotals
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
			totals := w.live.load().sinceBoot()
			r.gone = r.gone.add(totals)
			r.expired[id] = expiredWorker{boot: w.hello.Boot, totals: totals}
			n++
		}
	}
	if n > 0 {
		r.changedLocked(nil)
	}
	return n
}

// OwnerOf returns the worker serving a client. It never rebuilds the
// view, which costs milliseconds in a large fleet: a kick must not wait
// for one. When the view is current it answers from it without locking;
// otherwise it asks each worker's table.
func (r *Registry) OwnerOf(clientID string) (NodeID, bool) {
	if v := r.view.Load(); v.Version == r.membership.Load() {
		if c, ok := v.Client(clientID); ok {
			return c.Node, true
		}
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for node, w := range r.workers {
		if _, ok := w.clients[clientID]; ok {
			return node, true
		}
	}
	return "", false
}
