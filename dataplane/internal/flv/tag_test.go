package flv

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"tidecast.dev/dataplane/internal/media"
)

// SPSs produced by ffmpeg 5.1 + libx264 (`-f h264`, first NAL of type 7).
var (
	spsHigh640x360     = "6764001eacd940a02ff970110000030001000003003c0f162d96"
	spsBaseline320x240 = "6742c00dd90141fb0110000003001000000303c0f142a480"
	spsHigh444         = "67f4001e919b281405ff138088000003000800000301e078b16cb0"
	spsHigh10          = "676e001ea6cd940a02ff970110000003001000000303c0f162d960"
	spsInterlaced      = "6764001eacd940b47b6022000003000200000300783e28532c"
	spsHigh422Matrices = "677a0028bcd940780227e270110000030001000003003c0f183196"
	// From libx265 at 640x360: VPS, SPS, PPS.
	hevcVPS = "40010c01ffff01600000030090000003000003003f959809"
	hevcSPS = "42010101600000030090000003000003003fa00502016965959a4932bc05a020000003002000000303c1"
	hevcPPS = "4401c172b46240"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func avcC(sps string) []byte {
	s := unhex(sps)
	rec := []byte{1, s[1], s[2], s[3], 0xff, 0xe1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(s)))
	rec = append(rec, s...)
	return append(rec, 1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb)
}

func hvcC(profile, level byte, nals ...string) []byte {
	rec := make([]byte, 23)
	rec[0], rec[1], rec[12], rec[22] = 1, profile, level, byte(len(nals))
	for _, n := range nals {
		b := unhex(n)
		rec = append(rec, 0x80|(b[0]>>1)&0x3f, 0, 1)
		rec = binary.BigEndian.AppendUint16(rec, uint16(len(b)))
		rec = append(rec, b...)
	}
	return rec
}

func TestAVCSequenceHeadersDescribeTheirTrack(t *testing.T) {
	tests := []struct {
		name string
		sps  string
		want media.VideoInfo
	}{
		{"High 640x360 with bottom cropping", spsHigh640x360, media.VideoInfo{Codec: "H264", Profile: "High", Level: "3", Width: 640, Height: 360}},
		{"Baseline as x264 writes it (constraint flags set)", spsBaseline320x240, media.VideoInfo{Codec: "H264", Profile: "Baseline", Level: "1.3", Width: 320, Height: 240}},
		{"High 4:4:4 Predictive", spsHigh444, media.VideoInfo{Codec: "H264", Profile: "High(444+Predictive)", Level: "3", Width: 640, Height: 360}},
		{"High 10", spsHigh10, media.VideoInfo{Codec: "H264", Profile: "High(10)", Level: "3", Width: 640, Height: 360}},
		{"interlaced (field pairs)", spsInterlaced, media.VideoInfo{Codec: "H264", Profile: "High", Level: "3", Width: 720, Height: 480}},
		{"High 4:2:2 with scaling matrices", spsHigh422Matrices, media.VideoInfo{Codec: "H264", Profile: "High(422)", Level: "4", Width: 1920, Height: 1080}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := append([]byte{0x17, 0, 0, 0, 0}, avcC(tt.sps)...)
			v := ParseVideo(body)
			if !v.SequenceHeader || v.Frame || v.Codec != media.CodecH264 {
				t.Fatalf("classified as %+v", v)
			}
			info, err := v.Info()
			if err != nil {
				t.Fatal(err)
			}
			if *info != tt.want {
				t.Fatalf("got %+v, want %+v", *info, tt.want)
			}
		})
	}
}

func TestHEVCSequenceHeadersDescribeTheirTrack(t *testing.T) {
	want := media.VideoInfo{Codec: "HEVC", Profile: "Main", Level: "2.1", Width: 640, Height: 360}
	rec := hvcC(1, 63, hevcVPS, hevcSPS, hevcPPS)
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
	f.Add(byte(0), append([]byte{0x17, 0, 0, 0, 0}, avcC(spsHigh640x360)...))
	f.Add(byte(1), []byte{0xaf, 0, 0x2b, 0x92, 0x08, 0x00})
	f.Add(byte(0), append([]byte{0x90, 'h', 'v', 'c', '1'}, hvcC(1, 63, hevcVPS, hevcSPS, hevcPPS)...))
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		switch which % 2 {
		case 0:
			_, _ = ParseVideo(b).Info()
		case 1:
			_, _ = ParseAudio(b).Info()
		}
	})
}
