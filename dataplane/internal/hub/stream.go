package hub

import (
	"runtime"
	"sync"
	"time"

	"tidecast.dev/dataplane/internal/media"
)

var unpublished = &Packet{Kind: KindUnpublished}

// headerPackets is how many header packets a stream caches: one
// configuration per track.
const headerPackets = 3

type stream struct {
	hub      *Hub
	key      media.StreamKey
	id       media.StreamID
	counters media.StreamCounters

	mu        sync.Mutex
	publisher *Publisher
	readers   []*Reader
	gopCache  bool
	// The current publisher's configurations by track (metadata, video
	// and audio configuration) and its GOP.
	config [headerPackets]*Packet
	gop    []*Packet
	// gopOverflow is set when the GOP outgrew the cache; caching resumes
	// at the next keyframe.
	gopOverflow bool
	hasVideo    bool
	video       *media.VideoInfo
	audio       *media.AudioInfo
	// Timestamp correction: out = in + offset. rebase asks for a new
	// offset at the next packet (a new publisher), so that output
	// resumes where it stopped.
	rebase  bool
	offset  time.Duration
	last    time.Duration
	started bool
	// arrivals follow when each track's packets come, for realtime
	// readers to tell whether another is due soon.
	arrivals [2]arrival
	// lastKeyframeRequest throttles keyframe requests to the publisher.
	lastKeyframeRequest time.Time
	// timer flushes merged batches whose oldest packet waited the
	// latency, at flushAt (zero: not armed).
	timer   *time.Timer
	flushAt time.Time
}

// configSlot is where a track's configuration is cached.
func configSlot(t Track) int {
	switch t {
	case TrackVideo:
		return 1
	case TrackAudio:
		return 2
	}
	return 0
}

// primeLocked queues the cached configurations into r; s.mu and r.mu are
// held.
func (s *stream) primeLocked(r *Reader, now time.Time) {
	for _, p := range s.config {
		if p != nil {
			r.enqueueLocked(p, now)
		}
	}
}

// armLocked makes the stream's timer fire by at; s.mu is held. One timer
// serves every reader of the stream.
func (s *stream) armLocked(at time.Time) {
	if !s.flushAt.IsZero() && !at.Before(s.flushAt) {
		return
	}
	s.flushAt = at
	if s.timer == nil {
		s.timer = time.AfterFunc(time.Until(at), func() { s.hub.run(s.expire) })
	} else {
		s.timer.Reset(time.Until(at))
	}
}

// expire flushes the readers whose merged batch waited long enough, and
// re-arms the timer for the others.
func (s *stream) expire() {
	var due []*Reader
	s.mu.Lock()
	s.flushAt = time.Time{}
	now := time.Now()
	for _, r := range s.readers {
		if flush, at := r.expireLocked(now); flush {
			due = append(due, r)
		} else if !at.IsZero() {
			s.armLocked(at)
		}
	}
	s.mu.Unlock()
	flushAll(due)
}

// flushChunk is how many due readers make it worth a helper goroutine.
const flushChunk = 64

// flushAll calls the writers of due readers (which never wait for a
// socket): on the caller's goroutine and, for a large fan-out, on one
// helper per spare CPU, so that a stream's writes are not bound to one
// core. It returns when they all have.
func flushAll(due []*Reader) {
	helpers := min(runtime.GOMAXPROCS(0)-1, len(due)/flushChunk-1)
	if helpers <= 0 {
		for _, r := range due {
			r.flush()
		}
		return
	}
	per := (len(due) + helpers) / (helpers + 1)
	var wg sync.WaitGroup
	for i := 1; i <= helpers; i++ {
		part := due[min(i*per, len(due)):min((i+1)*per, len(due))]
		wg.Go(func() {
			for _, r := range part {
				r.flush()
			}
		})
	}
	for _, r := range due[:per] {
		r.flush()
	}
	wg.Wait()
}

// correct maps a publisher timestamp to the stream's timeline.
func (s *stream) correct(ts time.Duration) time.Duration {
	if s.rebase {
		s.rebase = false
		s.offset = 0
		if s.started {
			s.offset = s.last - ts
		}
	}
	out := ts + s.offset
	if !s.started || out > s.last {
		s.last, s.started = out, true
	}
	return out
}

// Publisher feeds a stream. Its methods are called from the publishing
// connection's goroutine.
type Publisher struct {
	s               *stream
	client          media.ClientID
	requestKeyframe func()
	ingest          func(*Packet)
	// due collects the readers to flush.
	due []*Reader
}

// StreamID returns the id of the published stream.
func (p *Publisher) StreamID() media.StreamID { return p.s.id }

// Counters returns the stream's counters, to which the publishing
// connection adds the bytes it reads.
func (p *Publisher) Counters() *media.StreamCounters { return &p.s.counters }

// Write ingests one packet and flushes the readers it made due: Queue,
// then Flush.
func (p *Publisher) Write(pkt *Packet) {
	p.Queue(pkt)
	p.Flush()
}

// Flush hands the readers that queued packets made due to their writers.
// A publisher that Queues what arrives together and Flushes before it
// waits for more sends a burst to each reader in one write, without
// delaying anything.
func (p *Publisher) Flush() {
	flushAll(p.due)
	clear(p.due)
	p.due = p.due[:0]
}

// Queue ingests one packet: the hub takes it over (the caller must not
// change it afterwards) and sets its timestamps on the stream's timeline.
// The readers it makes due wait for Flush (or Close).
func (p *Publisher) Queue(pkt *Packet) {
	s := p.s
	if pkt.Kind != KindMedia {
		return
	}
	if pkt.Track == TrackVideo && !pkt.Config {
		s.counters.Frames.Add(1)
	}
	now := time.Now()
	s.mu.Lock()
	if s.publisher != p {
		s.mu.Unlock()
		return
	}
	switch {
	case pkt.Track == TrackVideo:
		s.hasVideo = true
	case pkt.Track == TrackAudio && !pkt.Config:
		pkt.Keyframe = !s.hasVideo
	}
	cts := pkt.PTS - pkt.DTS
	pkt.DTS = s.correct(pkt.DTS)
	pkt.PTS = pkt.DTS + cts
	if p.ingest != nil {
		p.ingest(pkt)
	}
	soon := s.expectSoon(pkt.Track, now)

	// Fan out before updating the caches: a reader that overflows now is
	// re-primed with the configurations in force before this packet.
	for _, r := range s.readers {
		if r.push(pkt, now, soon) {
			p.due = append(p.due, r)
		}
	}
	s.cacheLocked(pkt)
	s.mu.Unlock()
}

// arrival is when a track's packets come: the last one, and the
// interval between them (a moving average).
type arrival struct {
	last     time.Time
	interval time.Duration
}

// expectSoon records that a packet of track t arrived at now, and tells
// whether the stream's next packet (of any audio or video track) is
// expected within realtimeSoon; s.mu is held.
func (s *stream) expectSoon(t Track, now time.Time) bool {
	if t != TrackVideo && t != TrackAudio {
		return false
	}
	a := &s.arrivals[t-TrackVideo]
	if !a.last.IsZero() {
		gap := min(max(now.Sub(a.last), 0), time.Second)
		if a.interval == 0 {
			a.interval = gap
		} else {
			a.interval += (gap - a.interval) / 8
		}
	}
	a.last = now
	for _, a := range s.arrivals {
		if a.interval > 0 && a.last.Add(a.interval).Sub(now) <= realtimeSoon {
			return true
		}
	}
	return false
}

// cacheLocked keeps configurations and the GOP for readers to come.
func (s *stream) cacheLocked(pkt *Packet) {
	if pkt.Config {
		s.config[configSlot(pkt.Track)] = pkt
		return
	}
	if !s.gopCache || pkt.Track == TrackData {
		return
	}
	if pkt.Keyframe {
		clear(s.gop)
		s.gop, s.gopOverflow = s.gop[:0], false
	}
	if s.gopOverflow || (len(s.gop) == 0 && !pkt.Keyframe) {
		return
	}
	if len(s.gop) >= s.hub.opts.GOPMessages {
		clear(s.gop)
		s.gop, s.gopOverflow = s.gop[:0], true
		return
	}
	s.gop = append(s.gop, pkt)
}

// SetCodecs reports the stream's track descriptions, as the publisher's
// protocol reads them from its configurations; a change goes to the
// registry.
func (p *Publisher) SetCodecs(video *media.VideoInfo, audio *media.AudioInfo) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publisher != p {
		return
	}
	if equalPtr(s.video, video) && equalPtr(s.audio, audio) {
		return
	}
	s.video, s.audio = video, audio
	s.hub.reg.SetCodecs(s.id, video, audio)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Close flushes, then ends the publication: readers are told and stay
// attached for a re-publish; the stream closes if it has no readers. Close
// is idempotent.
func (p *Publisher) Close() {
	p.Flush()
	flushAll(p.close())
}

// close ends the publication and returns the readers to flush.
func (p *Publisher) close() (due []*Reader) {
	s, h := p.s, p.s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publisher != p {
		return nil
	}
	s.publisher = nil
	s.config = [headerPackets]*Packet{}
	clear(s.gop)
	s.gop, s.gopOverflow = s.gop[:0], false
	s.video, s.audio, s.hasVideo = nil, nil, false
	now := time.Now()
	for _, r := range s.readers {
		if r.push(unpublished, now, false) {
			due = append(due, r)
		}
	}
	h.reg.StopPublish(s.id)
	h.releaseLocked(s)
	return due
}

// requestKeyframe passes a reader's keyframe request to the publisher, at
// most every keyframeRequestEvery.
func (s *stream) requestKeyframe() {
	s.mu.Lock()
	var ask func()
	if p := s.publisher; p != nil && p.requestKeyframe != nil {
		if now := time.Now(); s.lastKeyframeRequest.IsZero() || now.Sub(s.lastKeyframeRequest) >= keyframeRequestEvery {
			s.lastKeyframeRequest, ask = now, p.requestKeyframe
		}
	}
	s.mu.Unlock()
	if ask != nil {
		ask()
	}
}
