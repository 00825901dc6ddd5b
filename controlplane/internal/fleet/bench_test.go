package fleet

import (
	"fmt"
	"testing"
	"time"
)

// A worker with 2,000 clients reporting its counters: the per-second cost
// of ingesting one worker's samples, and of rebuilding the view after.
func newLoadedRegistry(b *testing.B, clients int) (*Registry, *Session, *clock, Samples) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	snap := Snapshot{Seq: 1, Streams: []StreamInfo{{ID: "vid-s1", Vhost: "__defaultVhost__"}}}
	smp := Samples{At: clk.now()}
	for i := range clients {
		id := fmt.Sprintf("c%07d", i)
		snap.Clients = append(snap.Clients, ClientInfo{ID: id, StreamID: "vid-s1", Vhost: "__defaultVhost__"})
		smp.Clients = append(smp.Clients, ClientCounters{ID: id, Counters: Counters{SendBytes: uint64(i)}})
	}
	if err := s.ApplySnapshot(snap); err != nil {
		b.Fatal(err)
	}
	return r, s, clk, smp
}

func BenchmarkApplySamples2000Clients(b *testing.B) {
	_, s, clk, smp := newLoadedRegistry(b, 2000)
	for b.Loop() {
		clk.advance(time.Second)
		smp.At = clk.now()
		if err := s.ApplySamples(smp); err != nil {
			b.Fatal(err)
		}
	}
}

// A view rebuild after one client joined a fleet of 50 workers with 2,000
// clients each: only that worker's piece is rebuilt, then all are merged.
func BenchmarkViewRebuildAfterAJoin100kClients(b *testing.B) {
	r, _ := newTestRegistry()
	var last *Session
	for w := range 50 {
		s := r.Attach(hello(fmt.Sprintf("w%02d", w), "b1"))
		snap := Snapshot{Seq: 1}
		for i := range 2000 {
			snap.Clients = append(snap.Clients, ClientInfo{ID: fmt.Sprintf("%02d%06d", w, i), Vhost: "__defaultVhost__"})
		}
		if err := s.ApplySnapshot(snap); err != nil {
			b.Fatal(err)
		}
		last = s
	}
	_ = r.View()
	seq := uint64(1)
	for b.Loop() {
		seq++
		ev := Event{Seq: seq, Kind: ClientJoined, Client: &ClientInfo{ID: fmt.Sprintf("zz%06d", seq)}}
		if err := last.ApplyEvent(ev); err != nil {
			b.Fatal(err)
		}
		if v := r.View(); v.Version == 0 {
			b.Fatal("no view")
		}
	}
}
