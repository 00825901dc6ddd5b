package hub

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

var _ StreamRegistry = (*registry.Registry)(nil)

var key = media.StreamKey{Vhost: media.DefaultVhost, App: "live", Name: "test"}

// avcSH is an AVC sequence header around an x264 SPS of 640x360 High 3.0.
var avcSH = func() []byte {
	sps, _ := hex.DecodeString("6764001eacd940a02ff970110000030001000003003c0f162d96")
	b := []byte{0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xff, 0xe1, 0, byte(len(sps))}
	b = append(b, sps...)
	return append(b, 1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb)
}()

var aacSH = []byte{0xaf, 0, 0x12, 0x10}

func video(ts uint32, key bool) *chunk.Message {
	ft := byte(0x27)
	if key {
		ft = 0x17
	}
	return &chunk.Message{Type: chunk.TypeVideo, Timestamp: ts, Payload: []byte{ft, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}}
}

func audio(ts uint32) *chunk.Message {
	return &chunk.Message{Type: chunk.TypeAudio, Timestamp: ts, Payload: []byte{0xaf, 1, 0x21, 0x10}}
}

func header(typ uint8, payload []byte) *chunk.Message {
	return &chunk.Message{Type: typ, Payload: payload}
}

func setDataFrame(t testing.TB) *chunk.Message {
	b, err := amf0.Append(nil, "@setDataFrame", "onMetaData", amf0.ECMAArray{{Key: "width", Value: 640.0}})
	if err != nil {
		t.Fatal(err)
	}
	return &chunk.Message{Type: chunk.TypeDataAMF0, Payload: b}
}

// startPublishing publishes key with metadata and both sequence headers.
func startPublishing(t testing.TB, h *Hub, o PublishOptions) *Publisher {
	t.Helper()
	p, err := h.Publish(key, "pub", "rtmp://h/live", o)
	if err != nil {
		t.Fatal(err)
	}
	p.Write(setDataFrame(t))
	p.Write(header(chunk.TypeVideo, avcSH))
	p.Write(header(chunk.TypeAudio, aacSH))
	return p
}

// testReader is a reader whose writer is the test: Flush signals flushes
// and next takes the batches.
type testReader struct {
	*Reader
	flushes chan struct{}
	held    bool
}

func subscribe(h *Hub, tcURL string, o ReaderOptions) *testReader {
	r := &testReader{flushes: make(chan struct{}, 1), held: true}
	o.Flush = func() { r.flushes <- struct{}{} }
	r.Reader = h.Subscribe(key, tcURL, o)
	return r
}

// next takes one batch, failing the test when none falls due in time.
func next(t *testing.T, r *testReader) []*Packet {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		if !r.held {
			select {
			case <-r.flushes:
				r.held = true
			case <-timeout:
				t.Fatal("no batch within 5 s")
			}
		}
		b, err := r.Take(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 {
			return b
		}
		r.held = false
	}
}

// readUntil collects batches until n packets came.
func readUntil(t *testing.T, r *testReader, n int) []*Packet {
	t.Helper()
	var all []*Packet
	for len(all) < n {
		all = append(all, next(t, r)...)
	}
	return all
}

// decoded reads the packets back as messages.
func decoded(t *testing.T, pkts []*Packet) []chunk.Message {
	t.Helper()
	var wire []byte
	for _, p := range pkts {
		wire = append(wire, p.Wire...)
	}
	cr := chunk.NewReader(bytes.NewReader(wire), chunk.ReaderConfig{})
	if len(pkts) > 0 {
		// Packets use the stream's chunk size, which the server announces.
		announce := chunk.AppendSetChunkSize(nil, 60000)
		cr = chunk.NewReader(bytes.NewReader(append(announce, wire...)), chunk.ReaderConfig{})
		if _, err := cr.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	var out []chunk.Message
	for range pkts {
		m, err := cr.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		c := *m
		c.Payload = bytes.Clone(m.Payload)
		out = append(out, c)
	}
	return out
}

func types(pkts []*Packet) []uint8 {
	var ts []uint8
	for _, p := range pkts {
		ts = append(ts, p.Type)
	}
	return ts
}

func TestAReaderJoiningMidStreamStartsAtTheLastKeyframe(t *testing.T) {
	h := New(registry.New(nil), Options{})
	p := startPublishing(t, h, PublishOptions{GOPCache: true})
	defer p.Close()
	p.Write(video(0, true))
	p.Write(video(33, false))
	p.Write(video(66, true)) // the GOP starts here
	p.Write(audio(70))
	p.Write(video(100, false))

	r := subscribe(h, "rtmp://h/live", ReaderOptions{})
	defer r.Close()
	got := readUntil(t, r, 6)
	want := []uint8{chunk.TypeDataAMF0, chunk.TypeVideo, chunk.TypeAudio, chunk.TypeVideo, chunk.TypeAudio, chunk.TypeVideo}
	if !slices.Equal(types(got), want) {
		t.Fatalf("types %v, want %v", types(got), want)
	}
	if got[3].Timestamp != 66 || !got[3].Keyframe {
		t.Fatalf("first frame %+v", got[3])
	}
	msgs := decoded(t, got)
	meta, err := amf0.Decode(msgs[0].Payload)
	if err != nil || meta[0] != "onMetaData" {
		t.Fatalf("metadata %v, %v: @setDataFrame not stripped", meta, err)
	}
	for _, m := range msgs {
		if m.StreamID != MessageStreamID {
			t.Fatalf("message stream %d", m.StreamID)
		}
	}
}

func TestWithoutGOPCacheANewReaderWaitsForTheNextKeyframe(t *testing.T) {
	h := New(registry.New(nil), Options{})
	p := startPublishing(t, h, PublishOptions{GOPCache: false})
	defer p.Close()
	p.Write(video(0, true))
	p.Write(video(33, false))
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	p.Write(video(66, false))
	p.Write(audio(70))
	p.Write(video(100, true))
	got := readUntil(t, r, 4)
	if !slices.Equal(types(got), []uint8{chunk.TypeDataAMF0, chunk.TypeVideo, chunk.TypeAudio, chunk.TypeVideo}) || got[3].Timestamp != 100 {
		t.Fatalf("got %v, first frame at %d", types(got), got[len(got)-1].Timestamp)
	}
}

func TestAReaderAttachedBeforeThePublisherGetsEverything(t *testing.T) {
	h := New(registry.New(nil), Options{})
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	p := startPublishing(t, h, PublishOptions{GOPCache: true})
	defer p.Close()
	p.Write(video(0, true))
	if got := readUntil(t, r, 4); len(got) != 4 || got[3].Timestamp != 0 || !got[3].Keyframe {
		t.Fatalf("got %v", types(got))
	}
}

func TestASecondPublisherIsRefused(t *testing.T) {
	h := New(registry.New(nil), Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	if _, err := h.Publish(key, "other", "", PublishOptions{}); !errors.Is(err, media.ErrStreamBusy) {
		t.Fatalf("got %v", err)
	}
}

func TestReadersAreToldOfUnpublishAndPickUpARepublishWithMonotonicTimestamps(t *testing.T) {
	h := New(registry.New(nil), Options{})
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	p := startPublishing(t, h, PublishOptions{GOPCache: true})
	p.Write(video(5000, true))
	p.Write(video(5033, false))
	p.Close()
	got := readUntil(t, r, 6)
	if got[5].Kind != KindUnpublished {
		t.Fatalf("last packet %+v, want the unpublish notice", got[5])
	}

	p = startPublishing(t, h, PublishOptions{GOPCache: true}) // restarts at 0
	defer p.Close()
	p.Write(video(0, true))
	p.Write(video(33, false))
	got = readUntil(t, r, 5)
	if !got[0].Header || !got[1].Header || !got[2].Header {
		t.Fatal("the new headers did not come first")
	}
	if got[3].Timestamp < 5033 || got[4].Timestamp != got[3].Timestamp+33 {
		t.Fatalf("timestamps after republish: %d, %d", got[3].Timestamp, got[4].Timestamp)
	}
}

func TestMergedWritesWaitForTheLatencySpan(t *testing.T) {
	h := New(registry.New(nil), Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{MWLatency: 350 * time.Millisecond})
	defer r.Close()
	readUntil(t, r, 3) // the headers come at once
	for ts := uint32(0); ts < 330; ts += 33 {
		p.Write(video(ts, ts == 0))
	}
	r.mu.Lock()
	due, n := r.due, r.n
	r.mu.Unlock()
	if due || n != 10 {
		t.Fatalf("due %v with %d queued before the span elapsed", due, n)
	}
	p.Write(video(363, false))
	if got := next(t, r); len(got) != 11 {
		t.Fatalf("a batch of %d, want 11", len(got))
	}
}

func TestAMergedBatchWaitsNoLongerThanTheLatencyInWallClockTime(t *testing.T) {
	h := New(registry.New(nil), Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	const mw = 100 * time.Millisecond
	r := subscribe(h, "", ReaderOptions{MWLatency: mw})
	defer r.Close()
	readUntil(t, r, 3)
	p.Write(video(0, true)) // and the publisher pauses
	queued := time.Now()
	if got := next(t, r); len(got) != 1 {
		t.Fatalf("a batch of %d", len(got))
	}
	if d := time.Since(queued); d < mw-10*time.Millisecond {
		t.Fatalf("flushed after %v, before the latency", d)
	}
}

func TestARealtimeMessageGoesOutWithTheNextLaterOneOrAfterTheHold(t *testing.T) {
	h := New(registry.New(nil), Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	readUntil(t, r, 3) // the headers come at once
	p.Write(video(0, true))
	p.Write(audio(0)) // the same timestamp: both wait
	r.mu.Lock()
	due, n := r.due, r.n
	r.mu.Unlock()
	if due || n != 2 {
		t.Fatalf("due %v with %d queued before a later message", due, n)
	}
	p.Write(audio(23))
	if got := next(t, r); len(got) != 3 {
		t.Fatalf("a batch of %d, want 3", len(got))
	}
	p.Write(video(33, false)) // and the publisher pauses
	queued := time.Now()
	if got := next(t, r); len(got) != 1 {
		t.Fatalf("a batch of %d, want 1", len(got))
	}
	if d := time.Since(queued); d < realtimeHold-10*time.Millisecond {
		t.Fatalf("flushed after %v, before the hold", d)
	}
}

func TestASlowReaderSkipsToTheNextKeyframeAndAStalledOneIsCutOff(t *testing.T) {
	h := New(registry.New(nil), Options{QueueMessages: 64, GOPMessages: 8})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	stalled := make(chan struct{})
	slow := subscribe(h, "", ReaderOptions{Stalled: func() { close(stalled) }})
	defer slow.Close()
	fast := subscribe(h, "", ReaderOptions{})
	defer fast.Close()

	// The fast reader keeps up; the slow one never asks.
	var fastGot []*Packet
	for i := range 200 {
		p.Write(video(uint32(i*33), i%30 == 0))
		fastGot = append(fastGot, next(t, fast)...)
	}
	if n := len(fastGot); n != 3+200 {
		t.Fatalf("the fast reader got %d packets", n)
	}
	// The slow queue overflowed at frame 61, resumed at keyframe 90 and
	// overflowed again at 151 without its writer asking in between.
	select {
	case <-stalled:
	default:
		t.Fatal("the stalled reader was not cut off")
	}
	if _, err := slow.Take(nil); !errors.Is(err, ErrStalled) {
		t.Fatalf("slow reader: %v", err)
	}
}

func TestAReaderThatProgressesSlowlyResumesAtAKeyframe(t *testing.T) {
	h := New(registry.New(nil), Options{QueueMessages: 16, GOPMessages: 8})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	next(t, r) // the headers
	for i := range 20 {
		p.Write(video(uint32(i*33), i == 0 || i == 18))
	}
	got := next(t, r)
	// Overflow at the 17th message dropped the queue; the reader resumed
	// with the headers and the keyframe at 18.
	if !slices.Equal(types(got), []uint8{chunk.TypeDataAMF0, chunk.TypeVideo, chunk.TypeAudio, chunk.TypeVideo, chunk.TypeVideo}) ||
		got[3].Timestamp != 18*33 || !got[3].Keyframe {
		t.Fatalf("got %v starting at %d", types(got), got[3].Timestamp)
	}
}

func TestTheRegistryFollowsTheStreamsLife(t *testing.T) {
	reg := registry.New(nil)
	h := New(reg, Options{})
	r := subscribe(h, "rtmp://h/live", ReaderOptions{})
	snap := reg.Snapshot()
	if len(snap.Streams) != 1 || snap.Streams[0].Publishing || snap.Streams[0].Info.TcURL != "rtmp://h/live" {
		t.Fatalf("after play: %+v", snap.Streams)
	}
	p := startPublishing(t, h, PublishOptions{})
	p.Write(video(0, true))
	snap = reg.Snapshot()
	st := snap.Streams[0]
	if !st.Publishing || st.PublisherID != "pub" || st.Video == nil || st.Audio == nil {
		t.Fatalf("after publish: %+v", st)
	}
	if *st.Video != (media.VideoInfo{Codec: "H264", Profile: "High", Level: "3", Width: 640, Height: 360}) ||
		*st.Audio != (media.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"}) {
		t.Fatalf("codecs %+v %+v", *st.Video, *st.Audio)
	}
	if f := p.Counters().Frames.Load(); f != 1 {
		t.Fatalf("frames %d", f)
	}
	p.Close()
	if st := reg.Snapshot().Streams[0]; st.Publishing || st.Video != nil {
		t.Fatalf("after unpublish: %+v", st)
	}
	r.Close()
	r.Close()
	if n := len(reg.Snapshot().Streams); n != 0 || h.Streams() != 0 {
		t.Fatalf("%d streams left", n)
	}
}

// BenchmarkFanOut publishes messages to N realtime readers whose writers
// take each batch as soon as it falls due, as the server's do (on the
// publisher's goroutine, and helpers for many readers). allocs/op are per
// published message, for all readers together: they must not grow with
// the readers (2 for the packet, 3 more from 128 readers on for the
// helper goroutines, whatever their number).
func BenchmarkFanOut(b *testing.B) {
	for _, readers := range []int{1, 200, 1000} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			h := New(registry.New(nil), Options{})
			p := startPublishing(b, h, PublishOptions{GOPCache: true})
			rs := make([]*Reader, readers)
			delivered := make([]int, readers)
			for i := range rs {
				var batch []*Packet
				take := func() {
					for {
						var err error
						if batch, err = rs[i].Take(batch); err != nil || len(batch) == 0 {
							return
						}
						delivered[i] += len(batch)
					}
				}
				rs[i] = h.Subscribe(key, "", ReaderOptions{Flush: take, Stalled: func() { b.Error("a reader stalled") }})
				take() // the headers
			}
			frame := video(0, false)
			frame.Payload = append(frame.Payload, make([]byte, 10000)...)
			clear(delivered)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				frame.Timestamp = uint32(i * 33)
				frame.Payload[0] = 0x27
				if i%60 == 0 {
					frame.Payload[0] = 0x17
				}
				p.Write(frame)
				i++
			}
			for _, d := range delivered {
				if d != i {
					b.Fatalf("a reader got %d of %d", d, i)
				}
			}
			for _, r := range rs {
				r.Close()
			}
			p.Close()
		})
	}
}
