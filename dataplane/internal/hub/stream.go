package hub

import (
	"runtime"
	"sync"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/codec"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

// Kind says what a Packet is.
type Kind uint8

const (
	// KindMedia carries a message in Wire.
	KindMedia Kind = iota
	// KindUnpublished tells the reader that the publisher left; the server
	// answers it with NetStream.Play.UnpublishNotify. It has no Wire.
	KindUnpublished
)

// Packet is one message as every reader of a stream sends it. It is
// immutable once made, and shared.
type Packet struct {
	Kind      Kind
	Type      uint8
	Timestamp uint32
	// Keyframe marks where a reader may start: a video keyframe, or any
	// audio message of a stream without video.
	Keyframe bool
	// Header marks metadata and sequence headers, which readers never skip.
	Header bool
	// Wire is the message chunk-encoded for MessageStreamID at the
	// stream's chunk size.
	Wire []byte
}

var unpublished = &Packet{Kind: KindUnpublished}

// headerPackets is how many header packets a stream caches.
const headerPackets = 3

type stream struct {
	hub       *Hub
	key       media.StreamKey
	id        media.StreamID
	chunkSize int
	counters  media.StreamCounters

	mu        sync.Mutex
	publisher *Publisher
	readers   []*Reader
	gopCache  bool
	// The cached headers and GOP, from the current publisher.
	meta, videoSH, audioSH *Packet
	gop                    []*Packet
	// gopOverflow is set when the GOP outgrew the cache; caching resumes
	// at the next keyframe.
	gopOverflow bool
	hasVideo    bool
	video       *media.VideoInfo
	audio       *media.AudioInfo
	// Timestamp correction: out = in + offset. rebase asks for a new
	// offset at the next message (a new publisher), so that output
	// resumes where it stopped.
	rebase  bool
	offset  uint32
	last    uint32
	started bool
	// timer flushes merged batches whose oldest packet waited the
	// latency, at flushAt (zero: not armed).
	timer   *time.Timer
	flushAt time.Time
}

// primeLocked queues the cached headers into r; s.mu and r.mu are held.
func (s *stream) primeLocked(r *Reader, now time.Time) {
	for _, p := range [headerPackets]*Packet{s.meta, s.videoSH, s.audioSH} {
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
		s.timer = time.AfterFunc(time.Until(at), s.expire)
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
func (s *stream) correct(ts uint32) uint32 {
	if s.rebase {
		s.rebase = false
		s.offset = 0
		if s.started {
			s.offset = s.last - ts
		}
	}
	out := ts + s.offset
	if !s.started || int32(out-s.last) > 0 {
		s.last, s.started = out, true
	}
	return out
}

// Publisher feeds a stream. Its methods are called from the publishing
// connection's goroutine.
type Publisher struct {
	s      *stream
	client media.ClientID
	// msg is reused to encode each message; due collects the readers to
	// flush.
	msg chunk.Message
	due []*Reader
}

// StreamID returns the id of the published stream.
func (p *Publisher) StreamID() media.StreamID { return p.s.id }

// Counters returns the stream's counters, to which the publishing
// connection adds the bytes it reads.
func (p *Publisher) Counters() *media.StreamCounters { return &p.s.counters }

// Write ingests one message from the publisher and flushes the readers
// it made due: Queue, then Flush.
func (p *Publisher) Write(m *chunk.Message) {
	p.Queue(m)
	p.Flush()
}

// Flush hands the readers that queued messages made due to their writers.
// A publisher that Queues what arrives together and Flushes before it
// waits for more sends a burst to each reader in one write, without
// delaying anything.
func (p *Publisher) Flush() {
	flushAll(p.due)
	clear(p.due)
	p.due = p.due[:0]
}

// Queue ingests one message from the publisher: audio, video and data
// messages are fanned out; other types are ignored. The readers it makes
// due wait for Flush (or Close). The message is not retained.
func (p *Publisher) Queue(m *chunk.Message) {
	payload, typ := m.Payload, m.Type
	pkt := &Packet{Type: typ}
	var video codec.Video
	var audio codec.Audio
	csid := chunk.CSIDStream
	switch typ {
	case chunk.TypeVideo:
		video = codec.ParseVideo(payload)
		pkt.Keyframe, pkt.Header, csid = video.Keyframe, video.SequenceHeader, chunk.CSIDVideo
		if video.Frame {
			p.s.counters.Frames.Add(1)
		}
	case chunk.TypeAudio:
		audio = codec.ParseAudio(payload)
		pkt.Header, csid = audio.SequenceHeader, chunk.CSIDAudio
	case chunk.TypeDataAMF3:
		// An AMF3 data message is AMF0 after a format byte.
		if len(payload) == 0 {
			return
		}
		payload, typ = payload[1:], chunk.TypeDataAMF0
		pkt.Type = typ
		fallthrough
	case chunk.TypeDataAMF0:
		var meta bool
		if payload, meta = metadata(payload); payload == nil {
			return
		}
		pkt.Header = meta
	default:
		return
	}

	s := p.s
	now := time.Now()
	s.mu.Lock()
	if s.publisher != p {
		s.mu.Unlock()
		return
	}
	switch {
	case typ == chunk.TypeVideo:
		s.hasVideo = true
	case typ == chunk.TypeAudio && !pkt.Header:
		pkt.Keyframe = !s.hasVideo
	}
	pkt.Timestamp = s.correct(m.Timestamp)
	p.msg = chunk.Message{CSID: csid, Type: typ, StreamID: MessageStreamID, Timestamp: pkt.Timestamp, Payload: payload}
	pkt.Wire = chunk.AppendMessage(nil, s.chunkSize, &p.msg)
	p.msg.Payload = nil

	// Fan out before updating the caches: a reader that overflows now is
	// re-primed with the headers in force before this packet.
	for _, r := range s.readers {
		if r.push(pkt, now) {
			p.due = append(p.due, r)
		}
	}
	s.cacheLocked(pkt, typ)
	s.updateCodecsLocked(typ, video, audio)
	s.mu.Unlock()
}

// cacheLocked keeps headers and the GOP for readers to come.
func (s *stream) cacheLocked(pkt *Packet, typ uint8) {
	if pkt.Header {
		switch typ {
		case chunk.TypeVideo:
			s.videoSH = pkt
		case chunk.TypeAudio:
			s.audioSH = pkt
		default:
			s.meta = pkt
		}
		return
	}
	if !s.gopCache {
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

// updateCodecsLocked reports a track description that changed: a
// sequence header replaces the description, a frame of a codec without
// sequence headers fills a gap.
func (s *stream) updateCodecsLocked(typ uint8, video codec.Video, audio codec.Audio) {
	changed := false
	switch typ {
	case chunk.TypeVideo:
		if video.SequenceHeader || (s.video == nil && video.Frame) {
			if info, err := video.Info(); err == nil && (s.video == nil || *info != *s.video) {
				s.video, changed = info, true
			}
		}
	case chunk.TypeAudio:
		if audio.SequenceHeader || s.audio == nil {
			if info, err := audio.Info(); err == nil && (s.audio == nil || *info != *s.audio) {
				s.audio, changed = info, true
			}
		}
	}
	if changed {
		s.hub.reg.SetCodecs(s.id, s.video, s.audio)
	}
}

// metadata strips the @setDataFrame wrapper encoders put around
// onMetaData, and tells whether the message is onMetaData. It returns nil
// for a message that does not decode.
func metadata(payload []byte) ([]byte, bool) {
	name, n, err := amf0.DecodeValue(payload)
	if err != nil {
		return nil, false
	}
	if name == "@setDataFrame" {
		payload = payload[n:]
		if name, _, err = amf0.DecodeValue(payload); err != nil {
			return nil, false
		}
	}
	return payload, name == "onMetaData"
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
	s.meta, s.videoSH, s.audioSH = nil, nil, nil
	clear(s.gop)
	s.gop, s.gopOverflow = s.gop[:0], false
	s.video, s.audio, s.hasVideo = nil, nil, false
	now := time.Now()
	for _, r := range s.readers {
		if r.push(unpublished, now) {
			due = append(due, r)
		}
	}
	h.reg.StopPublish(s.id)
	h.releaseLocked(s)
	return due
}
