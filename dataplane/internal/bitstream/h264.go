package bitstream

import (
	"encoding/binary"
	"errors"
	"fmt"

	"tidecast.dev/dataplane/internal/media"
)

// SPS is what this package reads of an H.264 sequence parameter set.
type SPS struct {
	ProfileIDC  uint8
	Constraints uint8 // constraint_set0..5 flags, set0 in the top bit
	LevelIDC    uint8
	// ChromaFormat is chroma_format_idc (1 = 4:2:0 unless said otherwise).
	ChromaFormat uint32
	// BitDepthLuma and BitDepthChroma are 8 unless a high profile says more.
	BitDepthLuma, BitDepthChroma uint8
	// Width and Height are the displayed size, after cropping.
	Width, Height int
}

// maxMBs bounds the picture size in macroblocks per dimension (16 K pixels),
// far above any level's limit, so sizes never overflow.
const maxMBs = 1024

// profilesWithChroma have chroma_format_idc and friends in their SPS.
var profilesWithChroma = map[uint8]bool{100: true, 110: true, 122: true, 244: true, 44: true, 83: true, 86: true, 118: true, 128: true, 138: true, 139: true, 134: true, 135: true}

// ParseSPS parses an H.264 SPS NAL unit (with its one-byte header) up to
// the frame cropping, which is all it needs for the profile, level and
// displayed size; the VUI is not read.
func ParseSPS(nal []byte) (s SPS, err error) {
	if len(nal) < 4 || H264NALType(nal) != H264NALSPS {
		return SPS{}, errors.New("bitstream: not an H.264 SPS")
	}
	r := bitReader{b: rbsp(nal[1:])}
	s = SPS{ProfileIDC: uint8(r.bits(8)), Constraints: uint8(r.bits(8)), LevelIDC: uint8(r.bits(8)), ChromaFormat: 1, BitDepthLuma: 8, BitDepthChroma: 8}
	r.ue() // seq_parameter_set_id
	separatePlanes := false
	if profilesWithChroma[s.ProfileIDC] {
		s.ChromaFormat = r.ue()
		if s.ChromaFormat > 3 {
			return SPS{}, fmt.Errorf("bitstream: chroma_format_idc %d", s.ChromaFormat)
		}
		if s.ChromaFormat == 3 {
			separatePlanes = r.flag()
		}
		luma, chroma := r.ue(), r.ue() // bit_depth_{luma,chroma}_minus8
		if luma > 6 || chroma > 6 {
			return SPS{}, fmt.Errorf("bitstream: SPS bit depths of 8 + %d and 8 + %d", luma, chroma)
		}
		s.BitDepthLuma, s.BitDepthChroma = 8+uint8(luma), 8+uint8(chroma)
		r.skip(1)     // qpprime_y_zero_transform_bypass_flag
		if r.flag() { // seq_scaling_matrix_present_flag
			lists := 8
			if s.ChromaFormat == 3 {
				lists = 12
			}
			for i := range lists {
				if r.flag() {
					size := 16
					if i >= 6 {
						size = 64
					}
					skipScalingList(&r, size)
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.skip(1) // delta_pic_order_always_zero_flag
		r.se()    // offset_for_non_ref_pic
		r.se()    // offset_for_top_to_bottom_field
		n := r.ue()
		if n > 255 {
			return SPS{}, fmt.Errorf("bitstream: %d reference frames in the POC cycle", n)
		}
		for range n {
			r.se()
		}
	}
	r.ue()    // max_num_ref_frames
	r.skip(1) // gaps_in_frame_num_value_allowed_flag
	wMBs, hMapUnits := r.ue()+1, r.ue()+1
	frameMBsOnly := r.flag()
	if !frameMBsOnly {
		r.skip(1) // mb_adaptive_frame_field_flag
	}
	r.skip(1) // direct_8x8_inference_flag
	var cropL, cropR, cropT, cropB uint32
	if r.flag() {
		cropL, cropR, cropT, cropB = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err != nil {
		return SPS{}, fmt.Errorf("bitstream: SPS: %w", r.err)
	}
	if wMBs > maxMBs || hMapUnits > maxMBs || wMBs == 0 || hMapUnits == 0 {
		return SPS{}, fmt.Errorf("bitstream: SPS picture of %dx%d macroblocks", wMBs, hMapUnits)
	}
	fieldFactor := 2
	if frameMBsOnly {
		fieldFactor = 1
	}
	// Crop units (H.264 Table 6-1 and equations 7-19..7-22).
	cropX, cropY := 1, fieldFactor
	if s.ChromaFormat != 0 && !separatePlanes {
		subW, subH := 2, 2 // 4:2:0
		switch s.ChromaFormat {
		case 2:
			subH = 1
		case 3:
			subW, subH = 1, 1
		}
		cropX, cropY = subW, subH*fieldFactor
	}
	w := int(wMBs) * 16
	h := int(hMapUnits) * 16 * fieldFactor
	// Offsets are bounded by the picture: reject what would go negative.
	if s.Width, s.Height, err = crop(w, h, cropX, cropY, cropL, cropR, cropT, cropB); err != nil {
		return SPS{}, err
	}
	return s, nil
}

// crop applies a cropping (or conformance) window given in chroma units,
// rejecting one that leaves no picture.
func crop(w, h, unitX, unitY int, left, right, top, bottom uint32) (int, int, error) {
	cw := uint64(unitX) * (uint64(left) + uint64(right))
	ch := uint64(unitY) * (uint64(top) + uint64(bottom))
	if cw >= uint64(w) || ch >= uint64(h) {
		return 0, 0, errors.New("bitstream: cropping exceeds the picture")
	}
	return w - int(cw), h - int(ch), nil
}

func skipScalingList(r *bitReader, size int) {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
			if r.err != nil {
				return
			}
		}
		if next != 0 {
			last = next
		}
	}
}

// h264Profiles are the names SRS prints (srs_avc_profile2str). SRS reads
// the 8-bit profile_idc only, so it never names the constrained or intra
// variants its table lists (those are profile_idc plus constraint flags):
// an x264 "baseline" stream shows as "Baseline" there, and so here.
var h264Profiles = map[uint8]string{
	66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High(10)",
	122: "High(422)", 144: "High(444)", 244: "High(444+Predictive)",
}

var h264Levels = map[uint8]string{
	10: "1", 11: "1.1", 12: "1.2", 13: "1.3", 20: "2", 21: "2.1", 22: "2.2",
	30: "3", 31: "3.1", 32: "3.2", 40: "4", 41: "4.1", 50: "5", 51: "5.1",
}

func nameOr(m map[uint8]string, k uint8) string {
	if s, ok := m[k]; ok {
		return s
	}
	return "Other"
}

// ParseAVCDecoderConfig reads an AVCDecoderConfigurationRecord (the body of
// an AVC sequence header) and its first SPS.
func ParseAVCDecoderConfig(rec []byte) (*media.VideoInfo, error) {
	if len(rec) < 8 || rec[0] != 1 {
		return nil, errors.New("bitstream: not an AVCDecoderConfigurationRecord")
	}
	if rec[5]&0x1f == 0 {
		return nil, errors.New("bitstream: AVC record without an SPS")
	}
	n := int(binary.BigEndian.Uint16(rec[6:8]))
	if len(rec) < 8+n {
		return nil, fmt.Errorf("bitstream: AVC record: %w", errShort)
	}
	sps, err := ParseSPS(rec[8 : 8+n])
	if err != nil {
		return nil, err
	}
	return &media.VideoInfo{
		Codec:   media.CodecH264,
		Profile: nameOr(h264Profiles, sps.ProfileIDC),
		Level:   nameOr(h264Levels, sps.LevelIDC),
		Width:   sps.Width,
		Height:  sps.Height,
	}, nil
}
