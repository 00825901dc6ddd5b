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
	smp := Samples{At: clk.now(), Clients: map[string]Counters{}}
	for i := range clients {
		id := fmt.Sprintf("c%07d", i)
		snap.Clients = append(snap.Clients, ClientInfo{ID: id, StreamID: "vid-s1", Vhost: "__defaultVhost__"})
		smp.Clients[id] = Counters{SendBytes: uint64(i)}
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

func BenchmarkViewRebuild2000Clients(b *testing.B) {
	r, s, clk, smp := newLoadedRegistry(b, 2000)
	for b.Loop() {
		clk.advance(time.Second)
		smp.At = clk.now()
		_ = s.ApplySamples(smp)
		_ = r.View()
	}
}
