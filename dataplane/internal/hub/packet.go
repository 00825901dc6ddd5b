package hub

import (
	"sync"
	"sync/atomic"
	"time"
)

// Track says what a packet carries.
type Track uint8

const (
	TrackVideo Track = iota + 1
	TrackAudio
	TrackData
)

// Codec says how a packet's payload is coded.
type Codec uint8

const (
	// CodecH264: an access unit in AVCC form (NAL units each behind a
	// 4-byte big-endian length); configuration: an
	// AVCDecoderConfigurationRecord.
	CodecH264 Codec = iota + 1
	// CodecAAC: one raw AAC frame; configuration: an AudioSpecificConfig.
	CodecAAC
	// CodecOpus: one Opus packet.
	CodecOpus
	// CodecScript: script data as FLV and RTMP carry it, AMF0 values
	// (onMetaData and the like); its configuration is the stream's
	// metadata.
	CodecScript
	// CodecFLV: any other codec FLV and RTMP carry (HEVC, AV1, VP6, MP3,
	// ...), kept as the FLV tag body it arrived in, header included.
	// Only FLV-based outputs can use it.
	CodecFLV
)

// Kind says what a Packet is.
type Kind uint8

const (
	// KindMedia carries media or data.
	KindMedia Kind = iota
	// KindUnpublished tells the reader that the publisher left (RTMP
	// answers NetStream.Play.UnpublishNotify, HTTP-FLV ends the
	// response). It carries nothing.
	KindUnpublished
)

// Packet is one unit of a stream as its publisher sent it, in codec terms
// rather than any protocol's. The publisher makes it; once queued it is
// immutable and shared by every reader.
//
// Timestamps are time.Duration on the stream's timeline, which the hub
// keeps monotonic across re-publishes: exact for RTMP's milliseconds and
// RTP's 90 kHz and 48 kHz clocks alike.
type Packet struct {
	Kind  Kind
	Track Track
	Codec Codec
	// DTS is the decoding time, PTS the presentation time (PTS ≥ DTS
	// with B-frames, else equal).
	DTS, PTS time.Duration
	// Keyframe marks where a reader may start: a video keyframe, or any
	// audio packet of a stream without video.
	Keyframe bool
	// Config marks a packet that sets its track up: a codec
	// configuration (Payload is the record), or the stream's metadata on
	// the data track. The stream keeps the latest of each track for new
	// readers, and readers never skip one.
	Config  bool
	Payload []byte

	// The output forms computed so far: an immutable list, grown under
	// encMu and read without locks.
	enc   atomic.Pointer[encoding]
	encMu sync.Mutex
}

// Form is one way of encoding packets for output: RTMP chunks at one
// chunk size, FLV tags, RTP packets. A form must be comparable (a struct
// of plain fields, or a pointer): readers using equal forms share one
// encoding of each packet.
type Form interface {
	// AppendPacket appends the encoding of p to dst. It is called once
	// per packet and form, and must not keep p's payload.
	AppendPacket(dst []byte, p *Packet) []byte
}

type encoding struct {
	form Form
	b    []byte
	next *encoding
}

// Encoded returns p in form f, encoding it on first use: every reader of
// a stream that uses f shares the bytes. The result must not be changed.
func (p *Packet) Encoded(f Form) []byte {
	for e := p.enc.Load(); e != nil; e = e.next {
		if e.form == f {
			return e.b
		}
	}
	p.encMu.Lock()
	defer p.encMu.Unlock()
	head := p.enc.Load()
	for e := head; e != nil; e = e.next {
		if e.form == f {
			return e.b
		}
	}
	b := f.AppendPacket(nil, p)
	p.enc.Store(&encoding{form: f, b: b, next: head})
	return b
}

// SetEncoded records b as p's encoding in form f, for a publisher's
// protocol that made it along with the packet (see
// PublishOptions.Ingest); only before readers see p.
func (p *Packet) SetEncoded(f Form, b []byte) {
	p.enc.Store(&encoding{form: f, b: b, next: p.enc.Load()})
}

// header tells whether readers must never skip p.
func (p *Packet) header() bool { return p.Kind != KindMedia || p.Config }

// size is what p counts for in a reader's byte bound.
func (p *Packet) size() int { return len(p.Payload) }
