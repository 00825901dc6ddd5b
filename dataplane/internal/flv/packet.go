package flv

import (
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
)

// Demuxer turns the tags of one publisher (RTMP messages or FLV tags)
// into hub packets: H.264 and AAC become codec-level packets, script data
// stays AMF0, other codecs travel as their tag bodies (hub.CodecFLV). It
// extends the 32-bit millisecond timestamps, which wrap, and follows the
// track descriptions the configurations announce.
type Demuxer struct {
	last    uint32
	ext     int64 // milliseconds
	started bool
	video   *media.VideoInfo
	audio   *media.AudioInfo
}

// Legacy header bytes of the codecs mapped to codec-level packets.
const (
	aacHeader     = soundAAC<<4 | 0x0f // AAC is always flagged 44 kHz, 16 bits, stereo
	avcKeyframe   = frameKey<<4 | videoAVC
	avcInterframe = 2<<4 | videoAVC
	avcPrefixLen  = 5
	aacPrefixLen  = 2
)

// Packet maps a tag to a packet whose payload aliases body (the caller
// copies it if body does not stay). It returns nil for a tag that carries nothing to forward: an empty or
// truncated body, an AVC end of sequence or command frame, script data
// that does not decode, an unknown tag type. changed reports that the
// track descriptions changed (see Codecs).
func (d *Demuxer) Packet(typ uint8, ts uint32, body []byte) (p *hub.Packet, changed bool) {
	dts := d.extend(ts)
	switch typ {
	case TagVideo:
		p = videoPacket(body)
		if p != nil {
			changed = d.describeVideo(body)
		}
	case TagAudio:
		p = audioPacket(body)
		if p != nil {
			changed = d.describeAudio(body)
		}
	case TagScript:
		p = scriptPacket(body)
	}
	if p == nil {
		return nil, changed
	}
	p.PTS += dts
	p.DTS = dts
	return p, changed
}

// Codecs returns the track descriptions seen so far (nil: none yet).
func (d *Demuxer) Codecs() (*media.VideoInfo, *media.AudioInfo) { return d.video, d.audio }

// extend maps a 32-bit millisecond timestamp to the publisher's
// timeline: a step back of less than 2^31 ms is a step back, not a wrap.
func (d *Demuxer) extend(ts uint32) time.Duration {
	if !d.started {
		d.ext, d.started = int64(ts), true
	} else {
		d.ext += int64(int32(ts - d.last))
	}
	d.last = ts
	return time.Duration(d.ext) * time.Millisecond
}

func videoPacket(body []byte) *hub.Packet {
	if len(body) == 0 {
		return nil
	}
	if body[0]&0x0f != videoAVC || body[0]&0x80 != 0 {
		v := ParseVideo(body)
		return &hub.Packet{Track: hub.TrackVideo, Codec: hub.CodecFLV, Keyframe: v.Keyframe, Config: v.SequenceHeader, Payload: body}
	}
	if len(body) < avcPrefixLen || body[0]>>4 == frameCommand {
		return nil
	}
	switch body[1] {
	case avcSequenceHeader:
		return &hub.Packet{Track: hub.TrackVideo, Codec: hub.CodecH264, Config: true, Payload: body[avcPrefixLen:]}
	case avcNALU:
		if len(body) == avcPrefixLen {
			return nil
		}
		cts := int32(uint32(body[2])<<16|uint32(body[3])<<8|uint32(body[4])) << 8 >> 8
		return &hub.Packet{
			Track:    hub.TrackVideo,
			Codec:    hub.CodecH264,
			PTS:      time.Duration(cts) * time.Millisecond,
			Keyframe: body[0]>>4 == frameKey,
			Payload:  body[avcPrefixLen:],
		}
	}
	return nil // end of sequence
}

func audioPacket(body []byte) *hub.Packet {
	if len(body) == 0 {
		return nil
	}
	if body[0]>>4 != soundAAC {
		a := ParseAudio(body)
		return &hub.Packet{Track: hub.TrackAudio, Codec: hub.CodecFLV, Config: a.SequenceHeader, Payload: body}
	}
	if len(body) <= aacPrefixLen {
		return nil
	}
	return &hub.Packet{Track: hub.TrackAudio, Codec: hub.CodecAAC, Config: body[1] == aacSequenceHeader, Payload: body[aacPrefixLen:]}
}

func scriptPacket(body []byte) *hub.Packet {
	name, _, err := amf0.DecodeValue(body)
	if err != nil {
		return nil
	}
	return &hub.Packet{Track: hub.TrackData, Codec: hub.CodecScript, Config: name == "onMetaData", Payload: body}
}

// describeVideo follows the video description: a sequence header
// replaces it, a frame of a codec without sequence headers fills a gap.
func (d *Demuxer) describeVideo(body []byte) bool {
	v := ParseVideo(body)
	if !v.SequenceHeader && (d.video != nil || !v.Frame) {
		return false
	}
	info, err := v.Info()
	if err != nil || (d.video != nil && *info == *d.video) {
		return false
	}
	d.video = info
	return true
}

func (d *Demuxer) describeAudio(body []byte) bool {
	a := ParseAudio(body)
	if !a.SequenceHeader && d.audio != nil {
		return false
	}
	info, err := a.Info()
	if err != nil || (d.audio != nil && *info == *d.audio) {
		return false
	}
	d.audio = info
	return true
}

// TagType returns the tag (and RTMP message) type carrying p.
func TagType(p *hub.Packet) uint8 {
	switch p.Track {
	case hub.TrackVideo:
		return TagVideo
	case hub.TrackAudio:
		return TagAudio
	}
	return TagScript
}

// Timestamp returns p's tag timestamp in milliseconds (wrapping, as
// FLV's and RTMP's do).
func Timestamp(p *hub.Packet) uint32 { return uint32(p.DTS / time.Millisecond) }

// BodyLen returns the size of p's tag body; ok is false for a packet FLV
// cannot carry (Opus, until it is transcoded).
func BodyLen(p *hub.Packet) (n int, ok bool) {
	switch p.Codec {
	case hub.CodecH264:
		return avcPrefixLen + len(p.Payload), true
	case hub.CodecAAC:
		return aacPrefixLen + len(p.Payload), true
	case hub.CodecScript, hub.CodecFLV:
		return len(p.Payload), true
	}
	return 0, false
}

// AppendBody appends p's tag body; nothing for a packet FLV cannot carry.
func AppendBody(dst []byte, p *hub.Packet) []byte {
	switch p.Codec {
	case hub.CodecH264:
		cts := uint32((p.PTS - p.DTS) / time.Millisecond)
		switch {
		case p.Config:
			dst = append(dst, avcKeyframe, avcSequenceHeader, 0, 0, 0)
		case p.Keyframe:
			dst = append(dst, avcKeyframe, avcNALU, byte(cts>>16), byte(cts>>8), byte(cts))
		default:
			dst = append(dst, avcInterframe, avcNALU, byte(cts>>16), byte(cts>>8), byte(cts))
		}
	case hub.CodecAAC:
		kind := byte(1)
		if p.Config {
			kind = aacSequenceHeader
		}
		dst = append(dst, aacHeader, kind)
	case hub.CodecScript, hub.CodecFLV:
	default:
		return dst
	}
	return append(dst, p.Payload...)
}

// Form is the FLV tag form of packets (header, body, PreviousTagSize), as
// HTTP-FLV sends them.
type Form struct{}

// AppendPacket implements hub.Form.
func (Form) AppendPacket(dst []byte, p *hub.Packet) []byte {
	n, ok := BodyLen(p)
	if !ok {
		return dst
	}
	dst = AppendTagHeader(dst, TagType(p), Timestamp(p), n)
	dst = AppendBody(dst, p)
	return AppendTagTrailer(dst, n)
}
