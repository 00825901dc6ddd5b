package registry

import (
	"time"

	"tidecast.dev/dataplane/internal/media"
)

// ClientSample is one client's cumulative counters.
type ClientSample struct {
	ID                   media.ClientID
	SendBytes, RecvBytes uint64
}

// StreamSample is one stream's cumulative counters.
type StreamSample struct {
	ID                   media.StreamID
	SendBytes, RecvBytes uint64
	Frames               uint64
}

// Samples are the counters of every client and stream at one instant, plus
// the worker's totals since boot: bytes, clients added and clients removed
// with an error (see RemoveClient).
type Samples struct {
	At                           time.Time
	Clients                      []ClientSample
	Streams                      []StreamSample
	SendBytes, RecvBytes         uint64
	ClientsJoined, ClientsFailed uint64
}

// Sample reads every counter.
func (r *Registry) Sample() Samples {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Samples{
		At:            r.now(),
		Clients:       make([]ClientSample, 0, len(r.clients)),
		Streams:       make([]StreamSample, 0, len(r.streams)),
		SendBytes:     r.closedSend,
		RecvBytes:     r.closedRecv,
		ClientsJoined: r.joined,
		ClientsFailed: r.failed,
	}
	for id, c := range r.clients {
		cs := ClientSample{ID: id, SendBytes: c.counters.SendBytes.Load(), RecvBytes: c.counters.RecvBytes.Load()}
		s.SendBytes += cs.SendBytes
		s.RecvBytes += cs.RecvBytes
		s.Clients = append(s.Clients, cs)
	}
	for id, st := range r.streams {
		s.Streams = append(s.Streams, StreamSample{
			ID: id, SendBytes: st.counters.SendBytes.Load(), RecvBytes: st.counters.RecvBytes.Load(), Frames: st.counters.Frames.Load(),
		})
	}
	return s
}
