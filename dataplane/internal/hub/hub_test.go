package hub

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ StreamRegistry = (*registry.Registry)(nil)

var key = media.StreamKey{Vhost: media.DefaultVhost, App: "live", Name: "test"}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func video(ts int, key bool) *Packet {
	return &Packet{Track: TrackVideo, Codec: CodecH264, DTS: ms(ts), PTS: ms(ts), Keyframe: key, Payload: []byte{0, 0, 0, 1, 0x65}}
}

func audio(ts int) *Packet {
	return &Packet{Track: TrackAudio, Codec: CodecAAC, DTS: ms(ts), PTS: ms(ts), Payload: []byte{0x21, 0x10}}
}

// newHub makes a hub that the test's cleanup closes.
func newHub(t testing.TB, o Options) *Hub {
	h := New(registry.New(nil), o)
	t.Cleanup(h.Close)
	return h
}

// startPublishing publishes key with metadata and both configurations.
func startPublishing(t testing.TB, h *Hub, o PublishOptions) *Publisher {
	t.Helper()
	p, err := h.Publish(key, "pub", "rtmp://h/live", o)
	if err != nil {
		t.Fatal(err)
	}
	p.Write(&Packet{Track: TrackData, Codec: CodecScript, Config: true, Payload: []byte("metadata")})
	p.Write(&Packet{Track: TrackVideo, Codec: CodecH264, Config: true, Payload: []byte("avcC")})
	p.Write(&Packet{Track: TrackAudio, Codec: CodecAAC, Config: true, Payload: []byte{0x12, 0x10}})
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
	var err error
	if r.Reader, err = h.Subscribe(key, tcURL, o); err != nil {
		panic(err)
	}
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

func tracks(pkts []*Packet) []Track {
	var ts []Track
	for _, p := range pkts {
		ts = append(ts, p.Track)
	}
	return ts
}

func TestAReaderJoiningMidStreamStartsAtTheLastKeyframe(t *testing.T) {
	h := newHub(t, Options{})
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
	want := []Track{TrackData, TrackVideo, TrackAudio, TrackVideo, TrackAudio, TrackVideo}
	if !slices.Equal(tracks(got), want) {
		t.Fatalf("types %v, want %v", tracks(got), want)
	}
	if got[3].DTS != ms(66) || !got[3].Keyframe {
		t.Fatalf("first frame %+v", got[3])
	}
	if string(got[0].Payload) != "metadata" || !got[0].Config {
		t.Fatalf("metadata %+v", got[0])
	}
}

func TestWithoutGOPCacheANewReaderWaitsForTheNextKeyframe(t *testing.T) {
	h := newHub(t, Options{})
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
	if !slices.Equal(tracks(got), []Track{TrackData, TrackVideo, TrackAudio, TrackVideo}) || got[3].DTS != ms(100) {
		t.Fatalf("got %v, first frame at %d", tracks(got), got[len(got)-1].DTS)
	}
}

func TestAReaderAttachedBeforeThePublisherGetsEverything(t *testing.T) {
	h := newHub(t, Options{})
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	p := startPublishing(t, h, PublishOptions{GOPCache: true})
	defer p.Close()
	p.Write(video(0, true))
	if got := readUntil(t, r, 4); len(got) != 4 || got[3].DTS != 0 || !got[3].Keyframe {
		t.Fatalf("got %v", tracks(got))
	}
}

func TestASecondPublisherIsRefused(t *testing.T) {
	h := newHub(t, Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	if _, err := h.Publish(key, "other", "", PublishOptions{}); !errors.Is(err, media.ErrStreamBusy) {
		t.Fatalf("got %v", err)
	}
}

func TestReadersAreToldOfUnpublishAndPickUpARepublishWithMonotonicTimestamps(t *testing.T) {
	h := newHub(t, Options{})
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
	if !got[0].Config || !got[1].Config || !got[2].Config {
		t.Fatal("the new configurations did not come first")
	}
	if got[3].DTS < ms(5033) || got[4].DTS != got[3].DTS+ms(33) {
		t.Fatalf("timestamps after republish: %d, %d", got[3].DTS, got[4].DTS)
	}
}

func TestMergedWritesWaitForTheLatencySpan(t *testing.T) {
	h := newHub(t, Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{MWLatency: 350 * time.Millisecond})
	defer r.Close()
	readUntil(t, r, 3) // the headers come at once
	for ts := 0; ts < 330; ts += 33 {
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
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, Options{})
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
		if d := time.Since(queued); d != mw {
			t.Fatalf("flushed after %v, want %v", d, mw)
		}
	})
}

// queued tells whether r has packets queued that are not due yet.
func queued(r *testReader) (due bool, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.due, r.n
}

func TestARealtimeMessageWaitsOnlyForALaterOneDueSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, Options{})
		p := startPublishing(t, h, PublishOptions{})
		defer p.Close()
		r := subscribe(h, "", ReaderOptions{})
		defer r.Close()
		readUntil(t, r, 3) // the headers come at once

		// Video every 40 ms: once the stream's pace is known, nothing
		// comes within realtimeSoon, so each frame goes out at once.
		for i := range 4 {
			if i > 0 {
				time.Sleep(40 * time.Millisecond)
			}
			p.Write(video(i*40, i == 0))
			if i > 0 {
				if due, n := queued(r); !due || n != 1 {
					t.Fatalf("frame %d: due %v with %d queued", i, due, n)
				}
			}
			next(t, r)
		}

		// Audio every 10 ms as well: a message waits for the next one,
		// and the two go out together.
		for i := range 3 {
			time.Sleep(10 * time.Millisecond)
			p.Write(audio(120 + i*10))
			if i == 2 {
				break
			}
			next(t, r)
		}
		if due, n := queued(r); due || n != 1 {
			t.Fatalf("due %v with %d queued while the next message is expected soon", due, n)
		}
		time.Sleep(10 * time.Millisecond)
		p.Write(audio(150))
		if got := next(t, r); len(got) != 2 {
			t.Fatalf("a batch of %d, want the pair", len(got))
		}

		// The publisher pauses: the waiting message goes out after the
		// hold.
		time.Sleep(10 * time.Millisecond)
		p.Write(audio(160))
		queuedAt := time.Now()
		if got := next(t, r); len(got) != 1 {
			t.Fatalf("a batch of %d, want 1", len(got))
		}
		if d := time.Since(queuedAt); d != realtimeHold {
			t.Fatalf("flushed after %v, want the hold, %v", d, realtimeHold)
		}
	})
}

func TestNoTimerRunsAfterTheHubCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, Options{})
		p := startPublishing(t, h, PublishOptions{})
		defer p.Close()
		flushes := 0
		r, err := h.Subscribe(key, "", ReaderOptions{MWLatency: time.Second, Flush: func() { flushes++ }})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for b, _ := r.Take(nil); len(b) > 0; b, _ = r.Take(nil) {
		}
		p.Write(video(0, true)) // arms the stream's timer
		h.Close()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if flushes != 0 {
			t.Fatalf("%d flushes after Close", flushes)
		}
	})
}

func TestKeyframeRequestsReachThePublisherThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, Options{})
		asked := 0
		p, err := h.Publish(key, "pub", "", PublishOptions{RequestKeyframe: func() { asked++ }})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		r := subscribe(h, "", ReaderOptions{})
		defer r.Close()
		for range 10 {
			r.RequestKeyframe()
		}
		if asked != 1 {
			t.Fatalf("%d requests passed at once, want 1", asked)
		}
		time.Sleep(keyframeRequestEvery)
		r.RequestKeyframe()
		r.RequestKeyframe()
		if asked != 2 {
			t.Fatalf("%d requests after the interval, want 2", asked)
		}
	})
}

func TestALiveReaderOfAStreamWithoutPublisherIsRefused(t *testing.T) {
	h := newHub(t, Options{})
	if _, err := h.Subscribe(key, "", ReaderOptions{Live: true}); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("got %v", err)
	}
	if h.Streams() != 0 {
		t.Fatal("a refused reader left a stream open")
	}
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{Live: true})
	r.Close()
}

func TestASlowReaderSkipsToTheNextKeyframeAndAStalledOneIsCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, Options{QueueMessages: 64, GOPMessages: 8})
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
			p.Write(video(i*33, i%30 == 0))
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
	})
}

func TestAReaderThatProgressesSlowlyResumesAtAKeyframe(t *testing.T) {
	h := newHub(t, Options{QueueMessages: 16, GOPMessages: 8})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	next(t, r) // the headers
	for i := range 20 {
		p.Write(video(i*33, i == 0 || i == 18))
	}
	got := next(t, r)
	// Overflow at the 17th message dropped the queue; the reader resumed
	// with the headers and the keyframe at 18.
	if !slices.Equal(tracks(got), []Track{TrackData, TrackVideo, TrackAudio, TrackVideo, TrackVideo}) ||
		got[3].DTS != ms(18*33) || !got[3].Keyframe {
		t.Fatalf("got %v starting at %d", tracks(got), got[3].DTS)
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
	p.SetCodecs(&media.VideoInfo{Codec: "H264", Profile: "High", Level: "3", Width: 640, Height: 360},
		&media.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"})
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
			h := newHub(b, Options{})
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
				rs[i], _ = h.Subscribe(key, "", ReaderOptions{Flush: take, Stalled: func() { b.Error("a reader stalled") }})
				take() // the headers
			}
			payload := make([]byte, 10000)
			clear(delivered)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				frame := video(i*33, i%60 == 0)
				frame.Payload = payload
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
