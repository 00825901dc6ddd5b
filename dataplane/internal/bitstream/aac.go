package bitstream

import (
	"errors"
	"fmt"
	"slices"
)

// AudioSpecificConfig is what this package reads of an MPEG-4 audio
// configuration (ISO 14496-3 §1.6.2.1).
type AudioSpecificConfig struct {
	ObjectType int
	SampleRate int
	Channels   int
}

var aacSampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// AAC object types that SRS names.
const (
	aacMain = 1
	aacLC   = 2
	aacSSR  = 3
	aacLTP  = 4
	aacSBR  = 5  // HE-AAC
	aacPS   = 29 // HE-AAC v2
)

// ProfileName returns SRS's name for the object type.
func (c AudioSpecificConfig) ProfileName() string {
	switch c.ObjectType {
	case aacMain:
		return "Main"
	case aacLC:
		return "LC"
	case aacSSR:
		return "SSR"
	case aacSBR:
		return "HE"
	case aacPS:
		return "HEv2"
	}
	return "Other"
}

// ParseAudioSpecificConfig reads the object type, sampling rate and
// channel configuration.
func ParseAudioSpecificConfig(b []byte) (AudioSpecificConfig, error) {
	r := bitReader{b: b}
	c := AudioSpecificConfig{ObjectType: int(r.bits(5))}
	if c.ObjectType == 31 {
		c.ObjectType = 32 + int(r.bits(6))
	}
	switch idx := r.bits(4); {
	case idx == 15:
		c.SampleRate = int(r.bits(24))
	case int(idx) < len(aacSampleRates):
		c.SampleRate = aacSampleRates[idx]
	default:
		return AudioSpecificConfig{}, fmt.Errorf("bitstream: AAC sampling frequency index %d", idx)
	}
	c.Channels = int(r.bits(4))
	if r.err != nil {
		return AudioSpecificConfig{}, fmt.Errorf("bitstream: AudioSpecificConfig: %w", r.err)
	}
	if c.ObjectType == 0 {
		return AudioSpecificConfig{}, errors.New("bitstream: AAC object type 0")
	}
	return c, nil
}

// AppendAudioSpecificConfig appends c as an AudioSpecificConfig, for an AAC
// sequence header: object type (31 and up behind the escape), frequency
// index (an explicit 24-bit rate when the rate has none) and channel
// configuration (1 to 15: 0 would need a program_config_element), then a
// GASpecificConfig of 1024-sample frames, no core coder and no extension,
// padded to a byte. That is the whole configuration of AAC Main, LC, SSR
// and LTP (object types 1 to 4); other object types have more of their own
// (HE-AAC its extension rate, ELD and USAC theirs), which is not written,
// so for those pass the stream's own configuration through instead.
// On error it appends nothing.
func AppendAudioSpecificConfig(dst []byte, c AudioSpecificConfig) ([]byte, error) {
	var v uint64 // at most 5+6+4+24+4+3 bits
	n := 0
	put := func(bits, x int) { v, n = v<<bits|uint64(x), n+bits }
	switch ot := c.ObjectType; {
	case ot >= 1 && ot < 31:
		put(5, ot)
	case ot >= 32 && ot < 32+64:
		put(5, 31)
		put(6, ot-32)
	default:
		return dst, fmt.Errorf("bitstream: AAC object type %d", ot)
	}
	if idx := slices.Index(aacSampleRates[:], c.SampleRate); idx >= 0 {
		put(4, idx)
	} else if c.SampleRate > 0 && c.SampleRate < 1<<24 {
		put(4, 15)
		put(24, c.SampleRate)
	} else {
		return dst, fmt.Errorf("bitstream: AAC sampling rate %d", c.SampleRate)
	}
	if c.Channels < 1 || c.Channels > 15 {
		return dst, fmt.Errorf("bitstream: AAC channel configuration %d", c.Channels)
	}
	put(4, c.Channels)
	put(3, 0)    // frameLengthFlag, dependsOnCoreCoder, extensionFlag
	put(-n&7, 0) // to a byte
	for n > 0 {
		n -= 8
		dst = append(dst, byte(v>>n))
	}
	return dst, nil
}

// ADTSHeader is an ADTS frame header (ISO 14496-3 §1.A.2.2), which frames
// AAC in MPEG-TS and .aac files.
type ADTSHeader struct {
	Config AudioSpecificConfig
	// FrameLength counts the header and the raw frame after it.
	FrameLength int
	// HeaderLength is 7, or 9 with a CRC (protection_absent = 0).
	HeaderLength int
}

// ParseADTSHeader reads the ADTS header at the start of b. It rejects a
// frame of several raw data blocks: without a CRC it does not say where
// they begin, so they cannot be passed on as raw frames without decoding
// (and no common encoder writes them).
func ParseADTSHeader(b []byte) (ADTSHeader, error) {
	if len(b) < 7 {
		return ADTSHeader{}, fmt.Errorf("bitstream: ADTS header: %w", errShort)
	}
	// Syncword 0xfff, then layer 0: an MPEG audio (MP3) frame has the
	// same first bits with a layer of 1 to 3.
	if b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return ADTSHeader{}, errors.New("bitstream: not an ADTS header")
	}
	h := ADTSHeader{HeaderLength: 7}
	if b[1]&1 == 0 {
		h.HeaderLength = 9
	}
	idx := b[2] >> 2 & 0xf
	if int(idx) >= len(aacSampleRates) {
		return ADTSHeader{}, fmt.Errorf("bitstream: ADTS sampling frequency index %d", idx)
	}
	h.Config = AudioSpecificConfig{
		ObjectType: int(b[2]>>6) + 1,
		SampleRate: aacSampleRates[idx],
		Channels:   int(b[2]&1)<<2 | int(b[3]>>6),
	}
	h.FrameLength = int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	switch {
	case b[6]&3 != 0:
		return ADTSHeader{}, fmt.Errorf("bitstream: ADTS frame of %d raw data blocks", b[6]&3+1)
	case h.FrameLength < h.HeaderLength:
		return ADTSHeader{}, fmt.Errorf("bitstream: ADTS frame length %d", h.FrameLength)
	case len(b) < h.HeaderLength:
		return ADTSHeader{}, fmt.Errorf("bitstream: ADTS header: %w", errShort)
	}
	return h, nil
}

// AppendADTSHeader appends the 7-byte ADTS header (MPEG-4, no CRC, one raw
// data block, VBR fullness) of a raw frame of payloadLen bytes, as ffmpeg's
// adts muxer writes it. ADTS can carry only object types 1 to 4, a rate of
// the frequency table and channel configurations 1 to 7. On error it
// appends nothing.
func AppendADTSHeader(dst []byte, c AudioSpecificConfig, payloadLen int) ([]byte, error) {
	idx := slices.Index(aacSampleRates[:], c.SampleRate)
	switch {
	case c.ObjectType < aacMain || c.ObjectType > aacLTP:
		return dst, fmt.Errorf("bitstream: AAC object type %d in ADTS", c.ObjectType)
	case idx < 0:
		return dst, fmt.Errorf("bitstream: AAC sampling rate %d in ADTS", c.SampleRate)
	case c.Channels < 1 || c.Channels > 7:
		return dst, fmt.Errorf("bitstream: AAC channel configuration %d in ADTS", c.Channels)
	case payloadLen < 0 || payloadLen > 0x1fff-7:
		return dst, fmt.Errorf("bitstream: AAC frame of %d bytes in ADTS", payloadLen)
	}
	n := payloadLen + 7
	return append(dst, 0xff, 0xf1,
		byte(c.ObjectType-1)<<6|byte(idx)<<2|byte(c.Channels>>2),
		byte(c.Channels&3)<<6|byte(n>>11),
		byte(n>>3),
		byte(n&7)<<5|0x1f, // then adts_buffer_fullness 0x7ff (VBR)
		0xfc), nil
}
