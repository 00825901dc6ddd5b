package flv

import (
	"errors"

	"tidecast.dev/dataplane/internal/bitstream"
	"tidecast.dev/dataplane/internal/media"
)

// ErrNoConfig: the tag carries no track description (a frame of a codec
// described by sequence headers).
var ErrNoConfig = errors.New("flv: no configuration in this tag")

// Video describes one video tag body.
type Video struct {
	Codec string
	// Frame is set for a coded picture, as opposed to a sequence header, an
	// end of sequence or a command frame.
	Frame bool
	// Keyframe is set for a coded picture a decoder can start at.
	Keyframe bool
	// SequenceHeader is set for a decoder configuration (then in Config).
	SequenceHeader bool
	Config         []byte
}

// Legacy FLV video header values.
const (
	frameKey     = 1
	frameCommand = 5

	videoVP6      = 4
	videoVP6Alpha = 5
	videoAVC      = 7
	videoHEVC     = 12 // the de-facto extension SRS and others accept
	videoAV1      = 13

	avcSequenceHeader = 0
	avcNALU           = 1
)

// Enhanced RTMP video packet types.
const (
	exSequenceStart = 0
	exCodedFrames   = 1
	exCodedFramesX  = 3
)

var legacyVideoCodecs = map[byte]string{videoAVC: media.CodecH264, videoHEVC: media.CodecHEVC, videoAV1: media.CodecAV1}

var videoFourCCs = map[string]string{"avc1": media.CodecH264, "hvc1": media.CodecHEVC, "av01": media.CodecAV1}

// ParseVideo classifies a video tag body. An empty or unknown body yields
// a Video with codec Other that is neither a frame nor a header.
func ParseVideo(body []byte) Video {
	if len(body) == 0 {
		return Video{Codec: media.CodecOther}
	}
	frameType := body[0] >> 4
	if body[0]&0x80 != 0 { // enhanced RTMP: IsExHeader
		frameType = (body[0] >> 4) & 7
		if len(body) < 5 {
			return Video{Codec: media.CodecOther}
		}
		v := Video{Codec: media.CodecOther}
		if c, ok := videoFourCCs[string(body[1:5])]; ok {
			v.Codec = c
		}
		switch body[0] & 0x0f {
		case exSequenceStart:
			v.SequenceHeader, v.Config = true, body[5:]
		case exCodedFrames, exCodedFramesX:
			v.Frame = frameType != frameCommand
		}
		v.Keyframe = v.Frame && frameType == frameKey
		return v
	}
	v := Video{Codec: media.CodecOther}
	switch body[0] & 0x0f {
	case videoAVC, videoHEVC, videoAV1:
		v.Codec = legacyVideoCodecs[body[0]&0x0f]
		if len(body) < 5 {
			return v
		}
		switch body[1] {
		case avcSequenceHeader:
			v.SequenceHeader, v.Config = true, body[5:]
		case avcNALU:
			v.Frame = frameType != frameCommand
		}
	case videoVP6, videoVP6Alpha:
		v.Codec = media.CodecVP6
		v.Frame = frameType != frameCommand
	default:
		v.Frame = frameType != frameCommand
	}
	v.Keyframe = v.Frame && frameType == frameKey
	return v
}

// Info describes the track: from the configuration of a sequence header,
// or, for codecs that have none (VP6 and others), from any frame.
func (v Video) Info() (*media.VideoInfo, error) {
	switch {
	case v.SequenceHeader && v.Codec == media.CodecH264:
		return bitstream.ParseAVCDecoderConfig(v.Config)
	case v.SequenceHeader && v.Codec == media.CodecHEVC:
		return bitstream.ParseHEVCDecoderConfig(v.Config)
	case v.SequenceHeader || (v.Frame && v.Codec != media.CodecH264 && v.Codec != media.CodecHEVC):
		return &media.VideoInfo{Codec: v.Codec, Profile: media.CodecOther, Level: media.CodecOther}, nil
	}
	return nil, ErrNoConfig
}

// Audio describes one audio tag body.
type Audio struct {
	Codec string
	// SequenceHeader is set for a decoder configuration (then in Config).
	SequenceHeader bool
	Config         []byte
	// Rate and Channels are what the FLV header says (0 for enhanced
	// headers, which do not say).
	Rate, Channels int
}

// Legacy FLV audio header values.
const (
	soundMP3      = 2
	soundExHeader = 9
	soundAAC      = 10
	soundOpus     = 13 // SRS's extension
	soundMP38kHz  = 14

	aacSequenceHeader = 0
)

var flvRates = [4]int{5512, 11025, 22050, 44100}

var audioFourCCs = map[string]string{"mp4a": media.CodecAAC, ".mp3": media.CodecMP3, "Opus": media.CodecOpus}

// ParseAudio classifies an audio tag body.
func ParseAudio(body []byte) Audio {
	if len(body) == 0 {
		return Audio{Codec: media.CodecOther}
	}
	format := body[0] >> 4
	if format == soundExHeader {
		a := Audio{Codec: media.CodecOther}
		if len(body) < 5 {
			return a
		}
		if c, ok := audioFourCCs[string(body[1:5])]; ok {
			a.Codec = c
		}
		if body[0]&0x0f == exSequenceStart {
			a.SequenceHeader, a.Config = true, body[5:]
		}
		return a
	}
	a := Audio{Codec: media.CodecOther, Rate: flvRates[(body[0]>>2)&3], Channels: int(body[0]&1) + 1}
	switch format {
	case soundAAC:
		a.Codec = media.CodecAAC
		if len(body) >= 2 && body[1] == aacSequenceHeader {
			a.SequenceHeader, a.Config = true, body[2:]
		}
	case soundMP3, soundMP38kHz:
		a.Codec = media.CodecMP3
	case soundOpus:
		a.Codec = media.CodecOpus
	}
	return a
}

// Info describes the track: for AAC from the AudioSpecificConfig of a
// sequence header, for other codecs from any message.
//
// The sample rate follows SRS, which reports the FLV header's rate table
// (5512, 11025, 22050, 44100) and lets the AAC configuration override it
// only with a rate of that table: a 48 kHz AAC stream shows as 44100.
func (a Audio) Info() (*media.AudioInfo, error) {
	if a.Codec != media.CodecAAC {
		return &media.AudioInfo{Codec: a.Codec, SampleRate: a.Rate, Channels: a.Channels, Profile: media.CodecOther}, nil
	}
	if !a.SequenceHeader {
		return nil, ErrNoConfig
	}
	asc, err := bitstream.ParseAudioSpecificConfig(a.Config)
	if err != nil {
		return nil, err
	}
	info := &media.AudioInfo{Codec: media.CodecAAC, SampleRate: a.Rate, Channels: a.Channels, Profile: asc.ProfileName()}
	switch asc.SampleRate {
	case 11025, 22050, 44100:
		info.SampleRate = asc.SampleRate
	}
	if info.SampleRate == 0 { // enhanced header: nothing else to go by
		info.SampleRate = asc.SampleRate
	}
	if asc.Channels == 1 || asc.Channels == 2 || info.Channels == 0 {
		info.Channels = asc.Channels
	}
	return info, nil
}
