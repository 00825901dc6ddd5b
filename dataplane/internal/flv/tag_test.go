package flv

import (
	"encoding/hex"
	"testing"

	"tidecast.dev/dataplane/internal/media"
)

// Decoder configuration records from ffmpeg 5.1: libx264 High 640x360
// (avcC) and libx265 Main 640x360 (hvcC); the bitstream package tests
// their parsing in depth.
var (
	avcRecord  = unhex("0164001effe1001a6764001eacd940a02ff970110000030001000003003c0f162d9601000468ebe3cb")
	hevcRecord = unhex("0101000000000000000000003f00000000000000000003a00001001840010c01ffff01600000030090000003000003003f959809a10001002a42010101600000030090000003000003003fa00502016965959a4932bc05a020000003002000000303c1a2000100074401c172b46240")
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestAVCSequenceHeadersDescribeTheirTrack(t *testing.T) {
	v := ParseVideo(append([]byte{0x17, 0, 0, 0, 0}, avcRecord...))
	if !v.SequenceHeader || v.Frame || v.Codec != media.CodecH264 {
		t.Fatalf("classified as %+v", v)
	}
	info, err := v.Info()
	if err != nil {
		t.Fatal(err)
	}
	if want := (media.VideoInfo{Codec: "H264", Profile: "High", Level: "3", Width: 640, Height: 360}); *info != want {
		t.Fatalf("got %+v, want %+v", *info, want)
	}
}

func TestHEVCSequenceHeadersDescribeTheirTrack(t *testing.T) {
	want := media.VideoInfo{Codec: "HEVC", Profile: "Main", Level: "2.1", Width: 640, Height: 360}
	rec := hevcRecord
	tests := []struct {
		name string
		body []byte
	}{
		{"legacy codec id 12", append([]byte{0x1c, 0, 0, 0, 0}, rec...)},
		{"enhanced RTMP hvc1", append([]byte{0x90, 'h', 'v', 'c', '1'}, rec...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseVideo(tt.body).Info()
			if err != nil {
				t.Fatal(err)
			}
			if *info != want {
				t.Fatalf("got %+v, want %+v", *info, want)
			}
		})
	}
}

func TestVideoTagsAreClassified(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Video
	}{
		{"an AVC keyframe", []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}, Video{Codec: media.CodecH264, Frame: true, Keyframe: true}},
		{"an AVC inter frame", []byte{0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41}, Video{Codec: media.CodecH264, Frame: true}},
		{"an AVC end of sequence", []byte{0x17, 2, 0, 0, 0}, Video{Codec: media.CodecH264}},
		{"a command frame", []byte{0x57, 1, 0, 0, 0, 0}, Video{Codec: media.CodecH264}},
		{"an enhanced AV1 keyframe", []byte{0x91, 'a', 'v', '0', '1', 0x12}, Video{Codec: media.CodecAV1, Frame: true, Keyframe: true}},
		{"an enhanced HEVC inter frame without composition time", []byte{0xa3, 'h', 'v', 'c', '1', 0}, Video{Codec: media.CodecHEVC, Frame: true}},
		{"an unknown FourCC", []byte{0x91, 'v', 'p', '0', '9', 0}, Video{Codec: media.CodecOther, Frame: true, Keyframe: true}},
		{"a VP6 keyframe", []byte{0x14, 0, 0}, Video{Codec: media.CodecVP6, Frame: true, Keyframe: true}},
		{"an empty body", nil, Video{Codec: media.CodecOther}},
		{"a truncated enhanced header", []byte{0x90, 'h'}, Video{Codec: media.CodecOther}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseVideo(tt.body)
			if got.Codec != tt.want.Codec || got.Frame != tt.want.Frame || got.Keyframe != tt.want.Keyframe || got.SequenceHeader != tt.want.SequenceHeader {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAudioTagsDescribeTheirTrack(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		sh   bool
		want media.AudioInfo
	}{
		{"AAC LC 44.1 kHz stereo", []byte{0xaf, 0, 0x12, 0x10}, true, media.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"}},
		{"AAC LC 48 kHz stereo reports the FLV rate as SRS does", []byte{0xaf, 0, 0x11, 0x90}, true, media.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"}},
		{"AAC LC 22.05 kHz mono", []byte{0xaf, 0, 0x13, 0x88}, true, media.AudioInfo{Codec: "AAC", SampleRate: 22050, Channels: 1, Profile: "LC"}},
		{"HE-AAC reports its core rate", []byte{0xaf, 0, 0x2b, 0x92, 0x08, 0x00}, true, media.AudioInfo{Codec: "AAC", SampleRate: 22050, Channels: 2, Profile: "HE"}},
		{"AAC Main", []byte{0xaf, 0, 0x0a, 0x10}, true, media.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "Main"}},
		{"enhanced mp4a at 48 kHz", []byte{0x90, 'm', 'p', '4', 'a', 0x11, 0x90}, true, media.AudioInfo{Codec: "AAC", SampleRate: 48000, Channels: 2, Profile: "LC"}},
		{"MP3 22 kHz mono", []byte{0x28, 0xff, 0xfb}, false, media.AudioInfo{Codec: "MP3", SampleRate: 22050, Channels: 1, Profile: "Other"}},
		{"Opus", []byte{0xdf, 0}, false, media.AudioInfo{Codec: "Opus", SampleRate: 44100, Channels: 2, Profile: "Other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ParseAudio(tt.body)
			if a.SequenceHeader != tt.sh {
				t.Fatalf("sequence header %v", a.SequenceHeader)
			}
			info, err := a.Info()
			if err != nil {
				t.Fatal(err)
			}
			if *info != tt.want {
				t.Fatalf("got %+v, want %+v", *info, tt.want)
			}
		})
	}
}

func TestAACFramesCarryNoConfiguration(t *testing.T) {
	a := ParseAudio([]byte{0xaf, 1, 0x21})
	if a.SequenceHeader {
		t.Fatal("a raw AAC frame taken for a sequence header")
	}
	if _, err := a.Info(); err == nil {
		t.Fatal("Info of a raw AAC frame succeeded")
	}
}

func FuzzTag(f *testing.F) {
	f.Add(byte(0), append([]byte{0x17, 0, 0, 0, 0}, avcRecord...))
	f.Add(byte(1), []byte{0xaf, 0, 0x2b, 0x92, 0x08, 0x00})
	f.Add(byte(0), append([]byte{0x90, 'h', 'v', 'c', '1'}, hevcRecord...))
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		switch which % 2 {
		case 0:
			_, _ = ParseVideo(b).Info()
		case 1:
			_, _ = ParseAudio(b).Info()
		}
	})
}
