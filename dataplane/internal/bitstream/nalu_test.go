package bitstream

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

func hexes(units [][]byte) []string {
	var s []string
	for _, u := range units {
		s = append(s, hex.EncodeToString(u))
	}
	return s
}

func TestSplitAVCC(t *testing.T) {
	tests := []struct {
		name string
		au   string
		want []string
	}{
		{"an access unit from ffmpeg's flv muxer splits into AUD, SPS, PPS and IDR slice", avccIDR,
			[]string{"0910", "6742c00ad91ec044000003000400000300c83c489920", "68cb83cb20", "6588840bf26280019c"}},
		{"a zero-length unit is skipped", "00000000" + "000000020910" + "00000000", []string{"0910"}},
		{"an empty access unit has no units", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			units, err := SplitAVCC(unhex(tt.au))
			if err != nil {
				t.Fatal(err)
			}
			if got := hexes(units); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitAVCCReturnsCappedSubSlices(t *testing.T) {
	au := unhex(avccIDR)
	units, err := SplitAVCC(au)
	if err != nil {
		t.Fatal(err)
	}
	if &units[0][0] != &au[4] {
		t.Fatal("the first unit is a copy")
	}
	if cap(units[0]) != len(units[0]) {
		t.Fatalf("the first unit has a capacity of %d for %d bytes: appending to it overwrites the next", cap(units[0]), len(units[0]))
	}
}

func TestSplitAVCCNReadsLengthsOfAnySize(t *testing.T) {
	for _, tt := range []struct {
		name       string
		lengthSize int
		au         string
	}{
		{"1-byte lengths (lengthSizeMinusOne 0)", 1, "020910" + "0168"},
		{"2-byte lengths (lengthSizeMinusOne 1)", 2, "00020910" + "000168"},
		{"3-byte lengths, which the spec forbids but readers take", 3, "0000020910" + "00000168"},
		{"4-byte lengths", 4, "000000020910" + "0000000168"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			units, err := SplitAVCCN(unhex(tt.au), tt.lengthSize)
			if err != nil {
				t.Fatal(err)
			}
			if got := hexes(units); !reflect.DeepEqual(got, []string{"0910", "68"}) {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestAppendAVCCIsTheReverseOfSplitAVCC(t *testing.T) {
	au := unhex(avccIDR)
	units, err := SplitAVCC(au)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendAVCC([]byte{0xaa}, append(units, nil)...); !bytes.Equal(got, append([]byte{0xaa}, au...)) {
		t.Fatalf("got %x", got)
	}
}

func TestSplitAnnexB(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want []string
	}{
		{"x264's stream splits at its 4- and 3-byte start codes, dropping the zero byte of a 4-byte one", annexBIDRThenP,
			[]string{"0910", "6742c00ad91ec044000003000400000300c83c489920", "68cb83cb20", "6588840bf26280019c", "0930", "419a3815ea"}},
		{"input without a start code is one NAL unit", "6588840b", []string{"6588840b"}},
		{"trailing zero bytes of a unit are trimmed", "000001658800000000" + "00000168", []string{"6588", "68"}},
		{"leading zero bytes before the first start code are dropped", "00000000000165", []string{"65"}},
		{"bytes before the first start code are a unit", "0910" + "00000165", []string{"0910", "65"}},
		{"start codes and zeros alone hold no unit", "000000010000010000", nil},
		{"empty input holds no unit", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hexes(SplitAnnexB(unhex(tt.b))); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnnexBAndAVCCConvertBothWays(t *testing.T) {
	annexB := unhex(annexBIDRThenP)
	idr := annexB[:bytes.Index(annexB, unhex("000000010930"))]
	t.Run("x264's IDR access unit becomes what ffmpeg's flv muxer writes", func(t *testing.T) {
		if got := AnnexBToAVCC(nil, idr); !bytes.Equal(got, unhex(avccIDR)) {
			t.Fatalf("got  %x\nwant %s", got, avccIDR)
		}
	})
	t.Run("the flv access unit becomes the same units behind 4-byte start codes", func(t *testing.T) {
		got, err := AVCCToAnnexB([]byte{0xaa}, unhex(avccIDR))
		if err != nil {
			t.Fatal(err)
		}
		want := AppendAnnexB([]byte{0xaa}, SplitAnnexB(idr)...)
		if !bytes.Equal(got, want) || !bytes.HasPrefix(got[1:], []byte{0, 0, 0, 1, 9}) {
			t.Fatalf("got  %x\nwant %x", got, want)
		}
	})
}

func TestH264NALTypesAndKeyframes(t *testing.T) {
	units := SplitAnnexB(unhex(annexBIDRThenP))
	var types []uint8
	for _, u := range units {
		types = append(types, H264NALType(u))
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"the types of x264's units are read from their headers", types, []uint8{H264NALAUD, H264NALSPS, H264NALPPS, H264NALIDR, H264NALAUD, H264NALSlice}},
		{"an empty unit has type 0", H264NALType(nil), uint8(0)},
		{"an access unit with an IDR slice is a keyframe", H264IsKeyframe(units[:4]), true},
		{"an access unit of a P slice is not", H264IsKeyframe(units[4:]), false},
		{"an empty access unit is not", H264IsKeyframe(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
