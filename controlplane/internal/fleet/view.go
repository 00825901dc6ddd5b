package fleet

import (
	"cmp"
	"container/heap"
	"slices"
	"sync/atomic"
	"time"
)

// The spans of the rates a view reports: SRS's 30-second average, and a
// current rate that follows changes within a few seconds.
const (
	AverageSpan = 30 * time.Second
	CurrentSpan = 5 * time.Second
)

// Rates are the averaged and current rates of something that moves bytes.
type Rates struct {
	Average Kbps // over AverageSpan (recv_30s/send_30s)
	Current Kbps // over CurrentSpan
}

// Traffic is what moved: cumulative counters and the rates derived from
// them.
type Traffic struct {
	Counters
	Rates
}

func (t Traffic) add(o Traffic) Traffic {
	t.SendBytes += o.SendBytes
	t.RecvBytes += o.RecvBytes
	t.Average = addKbps(t.Average, o.Average)
	t.Current = addKbps(t.Current, o.Current)
	return t
}

// live holds a value that changes with every sample; views share it, so
// counters move without the view being rebuilt.
type live[T any] struct{ p atomic.Pointer[T] }

func (l *live[T]) load() T {
	if v := l.p.Load(); v != nil {
		return *v
	}
	var zero T
	return zero
}

func (l *live[T]) store(v T) { l.p.Store(&v) }

// set publishes *p, which must not change afterwards.
func (l *live[T]) set(p *T) { l.p.Store(p) }

// streamTraffic adds the video frame count to a stream's traffic.
type streamTraffic struct {
	Traffic
	Frames uint64
}

// workerLive is what changes on a worker between membership changes.
type workerLive struct {
	Traffic
	Stats        NodeStats
	LastSeen     time.Time
	ClientTotals ClientTotals
}

func (l workerLive) sinceBoot() sinceBoot {
	return sinceBoot{Counters: l.Counters, ClientTotals: l.ClientTotals}
}

// Worker is a worker as the API shows it.
type Worker struct {
	Hello
	ConnectedAt time.Time
	Connected   bool
	Streams     int
	Clients     int
	live        *live[workerLive]
}

// Traffic is the worker's media traffic since its boot.
func (w *Worker) Traffic() Traffic { return w.live.load().Traffic }

// Stats are the worker's latest host and process figures.
func (w *Worker) Stats() NodeStats { return w.live.load().Stats }

// LastSeen is when the worker last sent anything.
func (w *Worker) LastSeen() time.Time { return w.live.load().LastSeen }

// ClientTotals counts the worker's clients since its boot.
func (w *Worker) ClientTotals() ClientTotals { return w.live.load().ClientTotals }

// Stream is a stream as the API shows it.
type Stream struct {
	StreamInfo
	Node    NodeID
	VhostID string
	Clients int
	live    *live[streamTraffic]
}

// Traffic is the stream's traffic.
func (s *Stream) Traffic() Traffic { return s.live.load().Traffic }

// Frames counts the video frames received from the stream's publisher.
func (s *Stream) Frames() uint64 { return s.live.load().Frames }

// Client is a client as the API shows it.
type Client struct {
	ClientInfo
	Node    NodeID
	VhostID string
	live    *live[Traffic]
}

// Traffic is the client's traffic.
func (c *Client) Traffic() Traffic { return c.live.load() }

// Vhost sums the streams and clients of one vhost across the fleet.
type Vhost struct {
	ID      string
	Name    string
	Clients int
	Streams int // publishing streams
	streams []*Stream
}

// Traffic sums the traffic of the vhost's streams.
func (v *Vhost) Traffic() Traffic {
	var t Traffic
	for _, s := range v.streams {
		t = t.add(s.Traffic())
	}
	return t
}

// View is an immutable picture of who is in the fleet; the traffic
// figures it gives access to move on their own. Lists are sorted by id, so
// every replica pages through them the same way.
type View struct {
	// Version changes whenever the membership changes.
	Version uint64
	BuiltAt time.Time
	Workers []*Worker
	Streams []*Stream
	Clients []*Client
	Vhosts  []*Vhost
	// gone counts the bytes and clients of the workers dropped before the
	// view was built (Registry.gone, read with the workers).
	gone sinceBoot
}

// Total sums every worker's traffic since its boot, and the bytes of the
// workers gone (see ClientTotals): its counters never go back.
func (v *View) Total() Traffic {
	t := Traffic{Counters: v.gone.Counters}
	for _, w := range v.Workers {
		t = t.add(w.Traffic())
	}
	return t
}

// ClientTotals counts the clients of every worker this replica has known:
// those in the view, and those dropped before it was built. A worker's
// totals only grow within its boot, and pass to gone when it leaves, so
// the sum never decreases.
func (v *View) ClientTotals() ClientTotals {
	t := v.gone.ClientTotals
	for _, w := range v.Workers {
		t = t.add(w.ClientTotals())
	}
	return t
}

// Stream finds a stream by id.
func (v *View) Stream(id string) (*Stream, bool) {
	return find(v.Streams, id, func(s *Stream) string { return s.ID })
}

// Client finds a client by id.
func (v *View) Client(id string) (*Client, bool) {
	return find(v.Clients, id, func(c *Client) string { return c.ID })
}

// Vhost finds a vhost by id.
func (v *View) Vhost(id string) (*Vhost, bool) {
	return find(v.Vhosts, id, func(vh *Vhost) string { return vh.ID })
}

// Worker finds a worker by node id.
func (v *View) Worker(node NodeID) (*Worker, bool) {
	return find(v.Workers, string(node), func(w *Worker) string { return string(w.Node) })
}

// find looks an id up in a list sorted by id.
func find[T any](list []T, id string, key func(T) string) (T, bool) {
	i, ok := slices.BinarySearchFunc(list, id, func(e T, id string) int { return cmp.Compare(key(e), id) })
	if !ok {
		var zero T
		return zero, false
	}
	return list[i], true
}

// piece is one worker's part of a view, rebuilt only when that worker's
// membership changes.
type piece struct {
	worker  *Worker
	streams []*Stream // sorted by id
	clients []*Client // sorted by id
	// vhostClients counts the clients per vhost id; vhostNames names them.
	vhostClients map[string]int
	vhostNames   map[string]string
}

// View returns the current picture of the fleet, rebuilding it when the
// membership changed. Only the workers that changed are rebuilt, and the
// merge runs outside the registry's lock. A caller that finds another
// rebuild under way gets the previous view rather than waiting.
func (r *Registry) View() *View {
	v := r.view.Load()
	if v.Version == r.membership.Load() {
		return v
	}
	if !r.building.TryLock() {
		return v
	}
	defer r.building.Unlock()
	if v = r.view.Load(); v.Version == r.membership.Load() {
		return v
	}
	r.mu.Lock()
	version, gone := r.membership.Load(), r.gone
	pieces := make([]*piece, 0, len(r.workers))
	for _, w := range r.workers {
		if w.piece == nil {
			w.piece = w.buildPiece()
		}
		pieces = append(pieces, w.piece)
	}
	r.mu.Unlock()
	v = merge(pieces, version, r.now())
	v.gone = gone
	r.view.Store(v)
	return v
}

func (w *worker) buildPiece() *piece {
	p := &piece{
		worker: &Worker{
			Hello: w.hello, ConnectedAt: w.connectedAt, Connected: w.connected,
			Streams: len(w.streams), Clients: len(w.clients), live: &w.live,
		},
		streams:      make([]*Stream, 0, len(w.streams)),
		clients:      make([]*Client, 0, len(w.clients)),
		vhostClients: map[string]int{},
	}
	perStream := make(map[string]int, len(w.streams))
	vhostNames := map[string]string{}
	for _, e := range w.clients {
		c := e.client
		perStream[c.StreamID]++
		p.vhostClients[c.VhostID]++
		vhostNames[c.VhostID] = c.Vhost
		p.clients = append(p.clients, c)
	}
	p.vhostNames = vhostNames
	for _, s := range w.streams {
		p.streams = append(p.streams, &Stream{
			StreamInfo: s.info, Node: w.hello.Node, VhostID: w.vhostID(s.info.Vhost), Clients: perStream[s.info.ID], live: &s.live,
		})
	}
	slices.SortFunc(p.clients, func(a, b *Client) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(p.streams, func(a, b *Stream) int { return cmp.Compare(a.ID, b.ID) })
	return p
}

func merge(pieces []*piece, version uint64, now time.Time) *View {
	v := &View{Version: version, BuiltAt: now}
	vhosts := map[string]*Vhost{}
	for _, p := range pieces {
		v.Workers = append(v.Workers, p.worker)
		for id, n := range p.vhostClients {
			vhostIn(vhosts, id, p.vhostNames[id]).Clients += n
		}
		for _, s := range p.streams {
			vh := vhostIn(vhosts, s.VhostID, s.Vhost)
			vh.streams = append(vh.streams, s)
			if s.Publishing {
				vh.Streams++
			}
		}
	}
	slices.SortFunc(v.Workers, func(a, b *Worker) int { return cmp.Compare(a.Node, b.Node) })
	v.Clients = mergeSorted(pieces, func(p *piece) []*Client { return p.clients }, func(c *Client) string { return c.ID })
	v.Streams = mergeSorted(pieces, func(p *piece) []*Stream { return p.streams }, func(s *Stream) string { return s.ID })
	for _, vh := range vhosts {
		v.Vhosts = append(v.Vhosts, vh)
	}
	slices.SortFunc(v.Vhosts, func(a, b *Vhost) int { return cmp.Compare(a.ID, b.ID) })
	return v
}

func vhostIn(m map[string]*Vhost, id, name string) *Vhost {
	vh, ok := m[id]
	if !ok {
		vh = &Vhost{ID: id, Name: name}
		m[id] = vh
	}
	return vh
}

// mergeSorted merges the pieces' sorted lists into one: O(n log k) for n
// entries from k workers.
func mergeSorted[T any](pieces []*piece, list func(*piece) []T, id func(T) string) []T {
	total := 0
	h := &cursorHeap[T]{id: id}
	for _, p := range pieces {
		if l := list(p); len(l) > 0 {
			total += len(l)
			h.cursors = append(h.cursors, l)
		}
	}
	out := make([]T, 0, total)
	heap.Init(h)
	for h.Len() > 0 {
		c := h.cursors[0]
		out = append(out, c[0])
		if len(c) > 1 {
			h.cursors[0] = c[1:]
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return out
}

// cursorHeap orders the remaining parts of sorted lists by their heads.
type cursorHeap[T any] struct {
	cursors [][]T
	id      func(T) string
}

func (h *cursorHeap[T]) Len() int           { return len(h.cursors) }
func (h *cursorHeap[T]) Less(i, j int) bool { return h.id(h.cursors[i][0]) < h.id(h.cursors[j][0]) }
func (h *cursorHeap[T]) Swap(i, j int)      { h.cursors[i], h.cursors[j] = h.cursors[j], h.cursors[i] }
func (h *cursorHeap[T]) Push(x any)         { h.cursors = append(h.cursors, x.([]T)) }
func (h *cursorHeap[T]) Pop() any {
	last := h.cursors[len(h.cursors)-1]
	h.cursors = h.cursors[:len(h.cursors)-1]
	return last
}

func addKbps(a, b Kbps) Kbps { return Kbps{Recv: a.Recv + b.Recv, Send: a.Send + b.Send} }
