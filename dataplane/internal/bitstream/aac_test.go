package bitstream

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestAudioSpecificConfigsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		c    AudioSpecificConfig
		want string
	}{
		{"LC at 44.1 kHz in stereo is the classic 12 10", AudioSpecificConfig{2, 44100, 2}, "1210"},
		{"LC at 48 kHz in mono is what ffmpeg's flv muxer starts with", AudioSpecificConfig{2, 48000, 1}, "1188"},
		{"Main at 7350 Hz takes the last frequency index", AudioSpecificConfig{1, 7350, 2}, "0e10"},
		{"a rate outside the table is written in 24 bits", AudioSpecificConfig{2, 44000, 2}, "178055f010"},
		{"object type 42 (USAC) goes behind the escape", AudioSpecificConfig{42, 48000, 2}, "f94640"},
		{"HE-AAC writes its common prefix", AudioSpecificConfig{5, 24000, 2}, "2b10"},
		{"channel configuration 13 (22.2) fits its 4 bits", AudioSpecificConfig{2, 48000, 13}, "11e8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendAudioSpecificConfig([]byte{0xaa}, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != "aa"+tt.want {
				t.Fatalf("got %s, want aa%s", got, tt.want)
			}
			if back, err := ParseAudioSpecificConfig(b[1:]); err != nil || back != tt.c {
				t.Fatalf("parses back to %+v, %v", back, err)
			}
		})
	}
}

func TestAudioSpecificConfigFromFFmpegParsesPastItsSyncExtension(t *testing.T) {
	// ffmpeg's encoder appends an explicit "no SBR" sync extension (0x2b7).
	c, err := ParseAudioSpecificConfig(unhex("121056e500"))
	if err != nil || c != (AudioSpecificConfig{2, 44100, 2}) {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestParseADTSHeaderReadsFFmpegsHeaders(t *testing.T) {
	tests := []struct {
		name string
		h    string
		want ADTSHeader
	}{
		{"LC at 44.1 kHz in stereo", adtsLC44100Stereo, ADTSHeader{AudioSpecificConfig{2, 44100, 2}, 345, 7}},
		{"LC at 48 kHz in mono", adtsLC48000Mono, ADTSHeader{AudioSpecificConfig{2, 48000, 1}, 226, 7}},
		{"LC at 8 kHz in 5.1", adtsLC8000Surround, ADTSHeader{AudioSpecificConfig{2, 8000, 6}, 694, 7}},
		{"Main at 44.1 kHz in stereo", adtsMain44100Stereo, ADTSHeader{AudioSpecificConfig{1, 44100, 2}, 345, 7}},
		{"a header with a CRC is 9 bytes long", adtsLC44100StereoCRC, ADTSHeader{AudioSpecificConfig{2, 44100, 2}, 345, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(tt.h)
			h, err := ParseADTSHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			if h != tt.want {
				t.Fatalf("got %+v, want %+v", h, tt.want)
			}
			if h.HeaderLength != 7 {
				return
			}
			// And AppendADTSHeader writes ffmpeg's very bytes.
			if got, err := AppendADTSHeader([]byte{0xaa}, h.Config, h.FrameLength-7); err != nil || !bytes.Equal(got, append([]byte{0xaa}, b...)) {
				t.Fatalf("AppendADTSHeader wrote %x, %v", got, err)
			}
		})
	}
}

func TestAppendADTSHeaderTakesTheLongestFrame(t *testing.T) {
	b, err := AppendADTSHeader(nil, AudioSpecificConfig{2, 96000, 7}, 0x1fff-7)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := ParseADTSHeader(b); err != nil || h != (ADTSHeader{AudioSpecificConfig{2, 96000, 7}, 0x1fff, 7}) {
		t.Fatalf("got %+v, %v", h, err)
	}
}
