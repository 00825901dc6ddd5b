package bitstream

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

func TestParseAVCConfigReadsEveryParameterSet(t *testing.T) {
	twoOfEach := unhex("014d401f" + "fd" + "e2" + "00026742" + "00036743ff" + "02" + "000168" + "00026869" + "fdf8f800")
	tests := []struct {
		name string
		rec  []byte
		want AVCConfig
	}{
		{"ffmpeg's flv sequence header", unhex(flvAVCRecord), AVCConfig{
			SPS:        [][]byte{unhex("6742c00ad91ec044000003000400000300c83c489920")},
			PPS:        [][]byte{unhex("68cb83cb20")},
			ProfileIDC: 66, Compatibility: 0xc0, LevelIDC: 10, LengthSize: 4,
		}},
		{"ffmpeg's High avcC, its extension ignored", unhex(mp4AVCRecordHigh), AVCConfig{
			SPS:        [][]byte{unhex("6764000aacd9447b011000000300100000030320f1225960")},
			PPS:        [][]byte{unhex("68ebe3cb22c0")},
			ProfileIDC: 100, Compatibility: 0, LevelIDC: 10, LengthSize: 4,
		}},
		{"two of each and 2-byte lengths", twoOfEach, AVCConfig{
			SPS:        [][]byte{unhex("6742"), unhex("6743ff")},
			PPS:        [][]byte{unhex("68"), unhex("6869")},
			ProfileIDC: 77, Compatibility: 0x40, LevelIDC: 31, LengthSize: 2,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseAVCConfig(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, tt.want) {
				t.Fatalf("got %+v\nwant %+v", c, tt.want)
			}
		})
	}
}

func TestAVCConfigsRebuildToTheSameTrack(t *testing.T) {
	tests := []struct {
		name string
		rec  []byte
		// same: the rebuilt record is byte for byte the original.
		same bool
	}{
		{"ffmpeg's flv Baseline record", unhex(flvAVCRecord), true},
		{"ffmpeg's mp4 Baseline record", unhex(mp4AVCRecordBaseline), true},
		{"ffmpeg's mp4 High record with its extension", unhex(mp4AVCRecordHigh), true},
		{"ffmpeg's mp4 High 10 record with its extension", unhex(mp4AVCRecordHigh10), true},
		{"a record of x264's High 640x360 SPS", avcC(spsHigh640x360), false},
		{"a record of x264's Baseline SPS", avcC(spsBaseline320x240), true},
		{"a record of x264's High 4:4:4 SPS", avcC(spsHigh444), false},
		{"a record of x264's High 10 SPS", avcC(spsHigh10), false},
		{"a record of x264's interlaced SPS", avcC(spsInterlaced), false},
		{"a record of x264's High 4:2:2 SPS with scaling matrices", avcC(spsHigh422Matrices), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseAVCConfig(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := AppendAVCConfig([]byte{0xaa}, c.SPS, c.PPS)
			if err != nil {
				t.Fatal(err)
			}
			if rec[0] != 0xaa {
				t.Fatal("dst was not appended to")
			}
			rec = rec[1:]
			if tt.same && !bytes.Equal(rec, tt.rec) {
				t.Fatalf("rebuilt %x\nfrom    %x", rec, tt.rec)
			}
			if back, err := ParseAVCConfig(rec); err != nil || !reflect.DeepEqual(back, c) {
				t.Fatalf("rebuilt record parses to %+v, %v; want %+v", back, err, c)
			}
			want, err := ParseAVCDecoderConfig(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := ParseAVCDecoderConfig(rec); err != nil || *got != *want {
				t.Fatalf("rebuilt record describes %+v, %v; want %+v", got, err, *want)
			}
		})
	}
}

func TestAppendAVCConfigWritesTheExtensionOfTheFirstSPS(t *testing.T) {
	tests := []struct {
		name string
		sps  string
		ext  string // the last 4 bytes, "" for none
	}{
		{"Baseline has none", spsBaseline320x240, ""},
		{"High says 4:2:0 in 8 bits", spsHigh640x360, "fdf8f800"},
		{"High 10 says 4:2:0 in 10 bits", spsHigh10, "fdfafa00"},
		{"High 4:2:2 says 4:2:2", spsHigh422Matrices, "fef8f800"},
		{"High 4:4:4 Predictive says 4:4:4", spsHigh444, "fff8f800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pps := []byte{0x68, 0xeb, 0xe3, 0xcb}
			rec, err := AppendAVCConfig(nil, [][]byte{unhex(tt.sps)}, [][]byte{pps})
			if err != nil {
				t.Fatal(err)
			}
			if tail := rec[len(rec)-len(tt.ext)/2:]; hex.EncodeToString(tail) != tt.ext || !bytes.HasSuffix(rec[:len(rec)-len(tail)], pps) {
				t.Fatalf("record %x does not end in PPS then %q", rec, tt.ext)
			}
		})
	}
}
