package bitstream

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"slices"
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

// From ffmpeg 5.1 + libx264 (aud=1, SEI dropped), a 16x16 IDR access unit
// and a P one.
const (
	// `-f h264`: AUD, SPS and PPS behind 4-byte start codes, slices behind
	// 3-byte ones.
	annexBIDRThenP = "00000001" + "0910" + "00000001" + "6742c00ad91ec044000003000400000300c83c489920" +
		"00000001" + "68cb83cb20" + "000001" + "6588840bf26280019c" +
		"00000001" + "0930" + "000001" + "419a3815ea"
	// The IDR access unit as ffmpeg's flv muxer writes it.
	avccIDR = "000000020910" + "000000166742c00ad91ec044000003000400000300c83c489920" +
		"0000000568cb83cb20" + "000000096588840bf26280019c"
	// Its AVC sequence header.
	flvAVCRecord = "0142c00affe100166742c00ad91ec044000003000400000300c83c48992001000568cb83cb20"
)

// avcC boxes that ffmpeg's mp4 muxer writes for libx264 at 64x48: the high
// profiles end in the chroma format and bit depth extension.
const (
	mp4AVCRecordBaseline = "0142c00affe100176742c00ad9047b011000000300100000030320f122648001000568cb83cb20"
	mp4AVCRecordHigh     = "0164000affe100186764000aacd9447b011000000300100000030320f122596001000668ebe3cb22c0fdf8f800"
	mp4AVCRecordHigh10   = "016e000affe10018676e000aa6cd9447b011000003000100000300320f12259601000668ebe3cb22c0fdfafa00"
)

// ADTS headers from `ffmpeg -f lavfi -i sine -t 0.1 -c:a aac -f adts -`
// (ffmpeg 5.1's native encoder) at the given rate and channels.
const (
	adtsLC44100Stereo   = "fff150802b3ffc"
	adtsLC48000Mono     = "fff14c401c5ffc"
	adtsLC8000Surround  = "fff16d8056dffc" // -ac 6: 5.1
	adtsMain44100Stereo = "fff110802b3ffc" // -profile:a aac_main
	// The first with protection_absent cleared and a CRC appended.
	adtsLC44100StereoCRC = "fff050802b3ffc1234"
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

func TestAVCDecoderConfigsDescribeTheirTrack(t *testing.T) {
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
			info, err := ParseAVCDecoderConfig(avcC(tt.sps))
			if err != nil {
				t.Fatal(err)
			}
			if *info != tt.want {
				t.Fatalf("got %+v, want %+v", *info, tt.want)
			}
		})
	}
}

func TestHEVCDecoderConfigsDescribeTheirTrack(t *testing.T) {
	want := media.VideoInfo{Codec: "HEVC", Profile: "Main", Level: "2.1", Width: 640, Height: 360}
	info, err := ParseHEVCDecoderConfig(hvcC(1, 63, hevcVPS, hevcSPS, hevcPPS))
	if err != nil {
		t.Fatal(err)
	}
	if *info != want {
		t.Fatalf("got %+v, want %+v", *info, want)
	}
}

func TestParsersRejectMalformedInput(t *testing.T) {
	tests := []struct {
		name  string
		parse func() error
	}{
		{"an SPS cut short", func() error { _, err := ParseSPS(unhex(spsHigh640x360)[:8]); return err }},
		{"a PPS given as SPS", func() error { _, err := ParseSPS([]byte{0x68, 0xeb, 0xe3, 0xcb}); return err }},
		{"an AVC record without SPS", func() error { _, err := ParseAVCDecoderConfig([]byte{1, 0x64, 0, 0x1e, 0xff, 0xe0, 0, 0}); return err }},
		{"an AVC record with a truncated SPS", func() error { _, err := ParseAVCDecoderConfig(avcC(spsHigh640x360)[:12]); return err }},
		{"an HEVC record cut in its arrays", func() error { _, err := ParseHEVCDecoderConfig(hvcC(1, 63, hevcSPS)[:30]); return err }},
		{"an ASC with a reserved rate index", func() error { _, err := ParseAudioSpecificConfig([]byte{0x16, 0x90}); return err }},
		{"an empty ASC", func() error { _, err := ParseAudioSpecificConfig(nil); return err }},

		{"an AVCC length cut short", func() error { _, err := SplitAVCC(unhex("000000020910000000")); return err }},
		{"an AVCC unit longer than the access unit", func() error { _, err := SplitAVCC(unhex("000000030910")); return err }},
		{"an AVCC length of 4 GiB", func() error { _, err := SplitAVCC(unhex("ffffffff0910")); return err }},
		{"an AVCC length size of 0", func() error { _, err := SplitAVCCN(unhex("0910"), 0); return err }},
		{"an AVCC length size of 5", func() error { _, err := SplitAVCCN(unhex("0910"), 5); return err }},
		{"a truncated AVCC access unit to convert", func() error {
			dst, err := AVCCToAnnexB([]byte{0xaa}, unhex(avccIDR)[:20])
			if len(dst) != 1 {
				return nil
			}
			return err
		}},

		{"an AVC config record of the wrong version", func() error { _, err := ParseAVCConfig(append([]byte{0}, unhex(flvAVCRecord)[1:]...)); return err }},
		{"an AVC config record without SPS", func() error { _, err := ParseAVCConfig([]byte{1, 0x64, 0, 0x1e, 0xff, 0xe0, 0}); return err }},
		{"an AVC config record cut in its SPS", func() error { _, err := ParseAVCConfig(unhex(flvAVCRecord)[:20]); return err }},
		{"an AVC config record cut before its PPS count", func() error { _, err := ParseAVCConfig(unhex(flvAVCRecord)[:30]); return err }},
		{"an AVC config record cut in its PPS", func() error { _, err := ParseAVCConfig(unhex(flvAVCRecord)[:33]); return err }},
		{"an AVC config record with an empty SPS", func() error { _, err := ParseAVCConfig([]byte{1, 0x64, 0, 0x1e, 0xff, 0xe1, 0, 0, 0}); return err }},
		{"an AVC config record built without PPS", func() error { _, err := AppendAVCConfig(nil, [][]byte{unhex(spsHigh10)}, nil); return err }},
		{"an AVC config record built without SPS", func() error { _, err := AppendAVCConfig(nil, nil, [][]byte{{0x68, 0xeb}}); return err }},
		{"an AVC config record built of 32 SPS", func() error {
			_, err := AppendAVCConfig(nil, slices.Repeat([][]byte{unhex(spsHigh10)}, 32), [][]byte{{0x68, 0xeb}})
			return err
		}},
		{"an AVC config record built with a PPS for an SPS", func() error {
			_, err := AppendAVCConfig(nil, [][]byte{unhex(spsHigh10), {0x68, 0xeb}}, [][]byte{{0x68, 0xeb}})
			return err
		}},
		{"an AVC config record built with an SPS for a PPS", func() error {
			_, err := AppendAVCConfig(nil, [][]byte{unhex(spsHigh10)}, [][]byte{unhex(spsHigh10)})
			return err
		}},
		{"an AVC config record built with a PPS over 64 KiB", func() error {
			_, err := AppendAVCConfig(nil, [][]byte{unhex(spsHigh10)}, [][]byte{append([]byte{0x68}, make([]byte, 0xffff)...)})
			return err
		}},
		{"an AVC config record built of an SPS cut short", func() error {
			dst, err := AppendAVCConfig([]byte{0xaa}, [][]byte{unhex(spsHigh10)[:8]}, [][]byte{{0x68, 0xeb}})
			if len(dst) != 1 {
				return nil
			}
			return err
		}},
		{"an SPS with a bit depth of 15", func() error {
			// High: sps_id 0, chroma_format_idc 1, bit_depth_luma_minus8 7, then ones.
			_, err := ParseSPS(unhex("6764001e" + "a11fffff"))
			return err
		}},

		{"an ASC built of object type 0", func() error { _, err := AppendAudioSpecificConfig(nil, AudioSpecificConfig{0, 44100, 2}); return err }},
		{"an ASC built of object type 31, the escape itself", func() error {
			_, err := AppendAudioSpecificConfig(nil, AudioSpecificConfig{31, 44100, 2})
			return err
		}},
		{"an ASC built of object type 96, past the escape", func() error {
			_, err := AppendAudioSpecificConfig(nil, AudioSpecificConfig{96, 44100, 2})
			return err
		}},
		{"an ASC built of a 0 Hz rate", func() error { _, err := AppendAudioSpecificConfig(nil, AudioSpecificConfig{2, 0, 2}); return err }},
		{"an ASC built of a rate over 24 bits", func() error {
			_, err := AppendAudioSpecificConfig(nil, AudioSpecificConfig{2, 1 << 24, 2})
			return err
		}},
		{"an ASC built of channel configuration 0", func() error {
			dst, err := AppendAudioSpecificConfig([]byte{0xaa}, AudioSpecificConfig{2, 44100, 0})
			if len(dst) != 1 {
				return nil
			}
			return err
		}},
		{"an ASC built of channel configuration 16", func() error {
			_, err := AppendAudioSpecificConfig(nil, AudioSpecificConfig{2, 44100, 16})
			return err
		}},

		{"an ADTS header cut short", func() error { _, err := ParseADTSHeader(unhex(adtsLC44100Stereo)[:6]); return err }},
		{"an ADTS header with a CRC cut short", func() error { _, err := ParseADTSHeader(unhex(adtsLC44100StereoCRC)[:8]); return err }},
		{"an MP3 frame header", func() error { _, err := ParseADTSHeader(unhex("fffb9064000000")); return err }},
		{"an ADTS header with a reserved rate index", func() error { _, err := ParseADTSHeader(unhex("fff174802b3ffc")); return err }},
		{"an ADTS frame shorter than its header", func() error { _, err := ParseADTSHeader(unhex("fff1508000dffc")); return err }},
		{"an ADTS frame of two raw data blocks", func() error { _, err := ParseADTSHeader(unhex("fff150802b3ffd")); return err }},
		{"an ADTS header built for HE-AAC", func() error { _, err := AppendADTSHeader(nil, AudioSpecificConfig{5, 44100, 2}, 10); return err }},
		{"an ADTS header built for a rate outside the table", func() error {
			_, err := AppendADTSHeader(nil, AudioSpecificConfig{2, 44000, 2}, 10)
			return err
		}},
		{"an ADTS header built for 8 channels", func() error {
			_, err := AppendADTSHeader(nil, AudioSpecificConfig{2, 44100, 8}, 10)
			return err
		}},
		{"an ADTS header built for a frame over 8191 bytes", func() error {
			dst, err := AppendADTSHeader([]byte{0xaa}, AudioSpecificConfig{2, 44100, 2}, 0x1fff-6)
			if len(dst) != 1 {
				return nil
			}
			return err
		}},
		{"an ADTS header built for a negative length", func() error {
			_, err := AppendADTSHeader(nil, AudioSpecificConfig{2, 44100, 2}, -1)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(); err == nil {
				t.Fatal("no error (or something appended)")
			}
		})
	}
}

func FuzzBitstream(f *testing.F) {
	for _, s := range []string{spsHigh640x360, spsBaseline320x240, spsHigh444, spsInterlaced, spsHigh422Matrices} {
		f.Add(byte(0), unhex(s))
	}
	f.Add(byte(1), hvcC(1, 63, hevcVPS, hevcSPS, hevcPPS))
	f.Add(byte(2), []byte{0x12, 0x10})
	f.Add(byte(2), unhex("178055f010"))
	f.Add(byte(2), unhex("f94640"))
	f.Add(byte(3), avcC(spsHigh640x360))
	f.Add(byte(4), unhex(avccIDR))
	f.Add(byte(4+8), unhex("00020910000168")) // 2-byte lengths
	f.Add(byte(5), unhex(annexBIDRThenP))
	f.Add(byte(6), unhex(adtsLC44100Stereo))
	f.Add(byte(6), unhex(adtsLC44100StereoCRC))
	f.Add(byte(7), unhex(mp4AVCRecordHigh10))
	f.Add(byte(7), unhex(flvAVCRecord))
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		switch which % 8 {
		case 0:
			if s, err := ParseSPS(b); err == nil && (s.Width <= 0 || s.Height <= 0) {
				t.Fatalf("an SPS parsed to %dx%d", s.Width, s.Height)
			}
		case 1:
			if v, err := ParseHEVCDecoderConfig(b); err == nil && (v.Width < 0 || v.Height < 0) {
				t.Fatalf("an HEVC record parsed to %dx%d", v.Width, v.Height)
			}
		case 2:
			c, err := ParseAudioSpecificConfig(b)
			if err != nil {
				return
			}
			if asc, err := AppendAudioSpecificConfig(nil, c); err == nil {
				if back, err := ParseAudioSpecificConfig(asc); err != nil || back != c {
					t.Fatalf("%+v rebuilt as %x parses to %+v, %v", c, asc, back, err)
				}
			}
		case 3:
			_, _ = ParseAVCDecoderConfig(b)
		case 4:
			lengthSize := int(which/8)%4 + 1
			units, err := SplitAVCCN(b, lengthSize)
			if err != nil {
				return
			}
			n := 0
			for _, u := range units {
				if len(u) == 0 {
					t.Fatal("an empty unit")
				}
				n += lengthSize + len(u)
			}
			if n > len(b) {
				t.Fatalf("units of %d bytes from %d", n, len(b))
			}
			if back, err := SplitAVCC(AppendAVCC(nil, units...)); err != nil || !reflect.DeepEqual(back, units) {
				t.Fatalf("units %x rejoined split into %x, %v", units, back, err)
			}
		case 5:
			units := SplitAnnexB(b)
			for _, u := range units {
				if len(u) == 0 || u[len(u)-1] == 0 || bytes.Contains(u, startCode) {
					t.Fatalf("unit %x", u)
				}
			}
			if back := SplitAnnexB(AppendAnnexB(nil, units...)); !reflect.DeepEqual(back, units) {
				t.Fatalf("units %x rejoined split into %x", units, back)
			}
			if back, err := SplitAVCC(AnnexBToAVCC(nil, b)); err != nil || !reflect.DeepEqual(back, units) {
				t.Fatalf("units %x through AVCC became %x, %v", units, back, err)
			}
		case 6:
			h, err := ParseADTSHeader(b)
			if err != nil {
				return
			}
			if h.HeaderLength < 7 || h.FrameLength < h.HeaderLength || len(b) < h.HeaderLength {
				t.Fatalf("header %+v from %d bytes", h, len(b))
			}
			payload := h.FrameLength - h.HeaderLength
			if hdr, err := AppendADTSHeader(nil, h.Config, payload); err == nil {
				if back, err := ParseADTSHeader(hdr); err != nil || back.Config != h.Config || back.FrameLength != 7+payload {
					t.Fatalf("%+v rebuilt as %x parses to %+v, %v", h, hdr, back, err)
				}
			} else if h.Config.Channels != 0 {
				t.Fatalf("%+v cannot be rebuilt: %v", h, err)
			}
		case 7:
			c, err := ParseAVCConfig(b)
			if err != nil {
				return
			}
			if rec, err := AppendAVCConfig(nil, c.SPS, c.PPS); err == nil {
				back, err := ParseAVCConfig(rec)
				if err != nil || !reflect.DeepEqual(back.SPS, c.SPS) || !reflect.DeepEqual(back.PPS, c.PPS) || back.ProfileIDC != c.SPS[0][1] || back.LengthSize != 4 {
					t.Fatalf("%+v rebuilt as %x parses to %+v, %v", c, rec, back, err)
				}
			}
		}
	})
}
