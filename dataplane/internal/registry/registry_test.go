package registry

import (
	"errors"
	"net"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/media"
)

func addClient(r *Registry, id media.ClientID, stream media.StreamID, kick func()) *media.Counters {
	c := &media.Counters{}
	r.AddClient(media.ClientInfo{ID: id, StreamID: stream, Type: media.RTMPPlay}, c, kick)
	return c
}

func TestEventsFollowTheSnapshotInSequence(t *testing.T) {
	r := New(nil)
	r.OpenStream(media.StreamInfo{ID: "vid-a"}, &media.StreamCounters{})
	sub, snap := r.Subscribe(16)
	defer sub.Close()
	if snap.Seq != 1 || len(snap.Streams) != 1 {
		t.Fatalf("snapshot = seq %d with %d streams, want seq 1 with 1 stream", snap.Seq, len(snap.Streams))
	}
	addClient(r, "c1", "vid-a", func() {})
	r.StartPublish("vid-a", "c1")
	r.SetCodecs("vid-a", &media.VideoInfo{Codec: "H264"}, nil)
	r.RemoveClient("c1", nil)
	want := []EventKind{ClientJoined, PublishStarted, CodecChanged, ClientLeft}
	for i, kind := range want {
		ev := <-sub.Events()
		if ev.Kind != kind || ev.Seq != snap.Seq+uint64(i)+1 {
			t.Fatalf("event %d = kind %d seq %d, want kind %d seq %d", i, ev.Kind, ev.Seq, kind, snap.Seq+uint64(i)+1)
		}
	}
}

func TestAnOverflowingSubscriberIsResyncedBySnapshot(t *testing.T) {
	r := New(nil)
	sub, _ := r.Subscribe(2)
	defer sub.Close()
	for i := range 5 {
		addClient(r, media.ClientID(rune('a'+i)), "", func() {})
	}
	select {
	case <-sub.NeedsResync():
	default:
		t.Fatal("no resync signalled after the queue overflowed")
	}
	snap := sub.Resync()
	if snap.Seq != 5 || len(snap.Clients) != 5 {
		t.Fatalf("resync snapshot = seq %d with %d clients, want 5 and 5", snap.Seq, len(snap.Clients))
	}
	if len(sub.Events()) != 0 {
		t.Fatalf("%d stale events left after resync", len(sub.Events()))
	}
	addClient(r, "z", "", func() {})
	if ev := <-sub.Events(); ev.Seq != 6 {
		t.Fatalf("first event after resync has seq %d, want 6", ev.Seq)
	}
}

func TestKickCallsTheClientsCloserAndUnknownIDsAreNotFound(t *testing.T) {
	r := New(nil)
	kicked := make(chan struct{}, 1)
	addClient(r, "c1", "", func() { kicked <- struct{}{} })
	if err := r.Kick("c1"); err != nil {
		t.Fatalf("kick: %v", err)
	}
	select {
	case <-kicked:
	default:
		t.Fatal("kick did not call the closer")
	}
	if err := r.Kick("nope"); media.CodeOf(err) != media.CodeClientNotFound {
		t.Fatalf("kick of unknown client: %v, want code %d", err, media.CodeClientNotFound)
	}
}

func TestWorkerTotalsKeepTheBytesOfClientsThatLeft(t *testing.T) {
	now := time.Unix(100, 0)
	r := New(func() time.Time { return now })
	c := addClient(r, "c1", "", func() {})
	c.SendBytes.Add(1000)
	c.RecvBytes.Add(10)
	d := addClient(r, "c2", "", func() {})
	d.SendBytes.Add(500)
	r.RemoveClient("c1", nil)
	s := r.Sample()
	if s.SendBytes != 1500 || s.RecvBytes != 10 {
		t.Fatalf("totals = %d/%d, want 1500/10", s.SendBytes, s.RecvBytes)
	}
	if len(s.Clients) != 1 || s.Clients[0].SendBytes != 500 {
		t.Fatalf("client samples = %+v, want only c2 with 500 bytes sent", s.Clients)
	}
	if !s.At.Equal(now) {
		t.Fatalf("sample time = %v, want %v", s.At, now)
	}
}

func TestStopPublishForgetsTheCodecs(t *testing.T) {
	r := New(nil)
	r.OpenStream(media.StreamInfo{ID: "vid-a"}, &media.StreamCounters{})
	r.StartPublish("vid-a", "c1")
	r.SetCodecs("vid-a", &media.VideoInfo{Codec: "H264"}, &media.AudioInfo{Codec: "AAC"})
	r.StopPublish("vid-a")
	st := r.Snapshot().Streams[0]
	if st.Publishing || st.Video != nil || st.Audio != nil {
		t.Fatalf("stream after unpublish = %+v, want not publishing and no codecs", st)
	}
}

func TestClientsAreCountedSinceBootAndFailedOnesApartFromGracefulAndKickedOnes(t *testing.T) {
	r := New(nil)
	for _, id := range []media.ClientID{"done", "broken", "kicked"} {
		addClient(r, id, "", func() {})
	}
	r.RemoveClient("done", nil)
	r.RemoveClient("broken", errors.New("protocol error"))
	if err := r.Kick("kicked"); err != nil {
		t.Fatal(err)
	}
	r.RemoveClient("kicked", net.ErrClosed)       // how a kicked connection ends
	r.RemoveClient("broken", errors.New("again")) // gone already: not counted twice
	addClient(r, "done", "", func() {})           // a second session of the same connection
	s := r.Sample()
	if s.ClientsJoined != 4 || s.ClientsFailed != 1 {
		t.Fatalf("clients joined/failed = %d/%d, want 4/1", s.ClientsJoined, s.ClientsFailed)
	}
	if len(s.Clients) != 1 {
		t.Fatalf("%d clients sampled, want the one still there", len(s.Clients))
	}
}
