package codec

import (
	"errors"
	"fmt"
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
		return AudioSpecificConfig{}, fmt.Errorf("codec: AAC sampling frequency index %d", idx)
	}
	c.Channels = int(r.bits(4))
	if r.err != nil {
		return AudioSpecificConfig{}, fmt.Errorf("codec: AudioSpecificConfig: %w", r.err)
	}
	if c.ObjectType == 0 {
		return AudioSpecificConfig{}, errors.New("codec: AAC object type 0")
	}
	return c, nil
}
