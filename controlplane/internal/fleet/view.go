package fleet

import (
	"cmp"
	"slices"
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

// Worker is a worker as the API shows it.
type Worker struct {
	Hello
	ConnectedAt time.Time
	LastSeen    time.Time
	Connected   bool
	Stats       NodeStats
	Streams     int
	Clients     int
	Counters
	Rates
}

// Stream is a stream as the API shows it.
type Stream struct {
	StreamInfo
	Node    NodeID
	VhostID string
	Clients int
	Frames  uint64
	Counters
	Rates
}

// Client is a client as the API shows it.
type Client struct {
	ClientInfo
	Node    NodeID
	VhostID string
	Counters
	Rates
}

// Vhost sums the streams and clients of one vhost across the fleet.
type Vhost struct {
	ID      string
	Name    string
	Clients int
	Streams int // publishing streams
	Counters
	Rates
}

// View is an immutable picture of the fleet. Lists are sorted by id, so
// every replica pages through them the same way.
type View struct {
	// Version changes whenever the view is rebuilt.
	Version uint64
	BuiltAt time.Time
	Workers []Worker
	Streams []Stream
	Clients []Client
	Vhosts  []Vhost
	// Total sums every worker's traffic since its boot.
	Total Counters
	Rates

	streamByID map[string]int
	clientByID map[string]int
	vhostByID  map[string]int
}

// Stream finds a stream by id.
func (v *View) Stream(id string) (Stream, bool) { return lookup(v.Streams, v.streamByID, id) }

// Client finds a client by id.
func (v *View) Client(id string) (Client, bool) { return lookup(v.Clients, v.clientByID, id) }

// Vhost finds a vhost by id.
func (v *View) Vhost(id string) (Vhost, bool) { return lookup(v.Vhosts, v.vhostByID, id) }

func lookup[T any](list []T, index map[string]int, id string) (T, bool) {
	i, ok := index[id]
	if !ok {
		var zero T
		return zero, false
	}
	return list[i], true
}

// View returns the current picture of the fleet. It is rebuilt only when
// something changed since the last one: at once for membership, at most
// once a second for counters.
func (r *Registry) View() *View {
	r.mu.Lock()
	defer r.mu.Unlock()
	stale := r.view.membership != r.membership ||
		(r.view.rates != r.rates && r.now().Sub(r.view.BuiltAt) >= rateRefresh)
	if stale {
		r.view = r.buildLocked()
	}
	return r.view.View
}

func rates(w *rateWindow) Rates {
	return Rates{Average: w.over(AverageSpan), Current: w.over(CurrentSpan)}
}

func (r *Registry) buildLocked() *builtView {
	v := &View{BuiltAt: r.now()}
	vhosts := map[string]*Vhost{}
	vhostOf := func(name string) *Vhost {
		vh, ok := vhosts[name]
		if !ok {
			vh = &Vhost{ID: VhostID(name), Name: name}
			vhosts[name] = vh
		}
		return vh
	}
	var fleetRates Rates
	for id, w := range r.workers {
		wv := Worker{
			Hello: w.hello, ConnectedAt: w.connectedAt, LastSeen: w.lastSeen, Connected: w.connected,
			Stats: w.stats, Streams: len(w.streams), Clients: len(w.clients), Counters: w.total, Rates: rates(&w.rates),
		}
		v.Workers = append(v.Workers, wv)
		v.Total.SendBytes += w.total.SendBytes
		v.Total.RecvBytes += w.total.RecvBytes
		fleetRates.Average = addKbps(fleetRates.Average, wv.Average)
		fleetRates.Current = addKbps(fleetRates.Current, wv.Current)
		clientsPerStream := map[string]int{}
		for _, c := range w.clients {
			vh := vhostOf(c.info.Vhost)
			vh.Clients++
			clientsPerStream[c.info.StreamID]++
			v.Clients = append(v.Clients, Client{
				ClientInfo: c.info, Node: id, VhostID: vh.ID, Counters: c.counters, Rates: rates(&c.rates),
			})
		}
		for _, st := range w.streams {
			vh := vhostOf(st.info.Vhost)
			sv := Stream{
				StreamInfo: st.info, Node: id, VhostID: vh.ID, Clients: clientsPerStream[st.info.ID],
				Frames: st.counters.Frames, Counters: st.counters.Counters, Rates: rates(&st.rates),
			}
			if st.info.Publishing {
				vh.Streams++
			}
			vh.SendBytes += sv.SendBytes
			vh.RecvBytes += sv.RecvBytes
			vh.Average = addKbps(vh.Average, sv.Average)
			vh.Current = addKbps(vh.Current, sv.Current)
			v.Streams = append(v.Streams, sv)
		}
	}
	v.Rates = fleetRates
	for _, vh := range vhosts {
		v.Vhosts = append(v.Vhosts, *vh)
	}
	slices.SortFunc(v.Workers, func(a, b Worker) int { return cmp.Compare(a.Node, b.Node) })
	slices.SortFunc(v.Streams, func(a, b Stream) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(v.Clients, func(a, b Client) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(v.Vhosts, func(a, b Vhost) int { return cmp.Compare(a.ID, b.ID) })
	v.streamByID = indexByID(v.Streams, func(s Stream) string { return s.ID })
	v.clientByID = indexByID(v.Clients, func(c Client) string { return c.ID })
	v.vhostByID = indexByID(v.Vhosts, func(vh Vhost) string { return vh.ID })
	r.built++
	v.Version = r.built
	return &builtView{View: v, membership: r.membership, rates: r.rates}
}

// builtView remembers which changes a view reflects.
type builtView struct {
	*View
	membership, rates uint64
}

func indexByID[T any](list []T, id func(T) string) map[string]int {
	m := make(map[string]int, len(list))
	for i, e := range list {
		m[id(e)] = i
	}
	return m
}

func addKbps(a, b Kbps) Kbps { return Kbps{Recv: a.Recv + b.Recv, Send: a.Send + b.Send} }
