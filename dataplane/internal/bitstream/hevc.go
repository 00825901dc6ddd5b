package bitstream

import (
	"encoding/binary"
	"errors"
	"fmt"

	"tidecast.dev/dataplane/internal/media"
)

// hevcProfiles are SRS's names for general_profile_idc.
var hevcProfiles = map[uint8]string{1: "Main", 2: "Main10", 3: "Main Still Picture", 4: "Rext"}

// hevcLevels are SRS's names for general_level_idc (30 × the level).
var hevcLevels = map[uint8]string{
	30: "1", 60: "2", 63: "2.1", 90: "3", 93: "3.1", 120: "4", 123: "4.1",
	150: "5", 153: "5.1", 156: "5.2", 180: "6", 183: "6.1", 186: "6.2",
}

const (
	hvcCHeaderLen = 23
	hevcNALSPS    = 33
)

// ParseHEVCDecoderConfig reads an HEVCDecoderConfigurationRecord: profile
// and level from its header, the displayed size from its first SPS (left
// 0×0 when the record carries no usable SPS).
func ParseHEVCDecoderConfig(rec []byte) (*media.VideoInfo, error) {
	if len(rec) < hvcCHeaderLen || rec[0] != 1 {
		return nil, errors.New("bitstream: not an HEVCDecoderConfigurationRecord")
	}
	v := &media.VideoInfo{
		Codec:   media.CodecHEVC,
		Profile: nameOr(hevcProfiles, rec[1]&0x1f),
		Level:   nameOr(hevcLevels, rec[12]),
	}
	arrays, p := int(rec[22]), rec[hvcCHeaderLen:]
	for range arrays {
		if len(p) < 3 {
			return nil, fmt.Errorf("bitstream: HEVC record: %w", errShort)
		}
		typ, n := p[0]&0x3f, int(binary.BigEndian.Uint16(p[1:3]))
		p = p[3:]
		for range n {
			if len(p) < 2 {
				return nil, fmt.Errorf("bitstream: HEVC record: %w", errShort)
			}
			l := int(binary.BigEndian.Uint16(p))
			if len(p) < 2+l {
				return nil, fmt.Errorf("bitstream: HEVC record: %w", errShort)
			}
			if typ == hevcNALSPS && v.Width == 0 {
				if w, h, err := parseHEVCSPSSize(p[2 : 2+l]); err == nil {
					v.Width, v.Height = w, h
				}
			}
			p = p[2+l:]
		}
	}
	return v, nil
}

// parseHEVCSPSSize reads an HEVC SPS (with its two-byte NAL header) up to
// the conformance window (H.265 §7.3.2.2).
func parseHEVCSPSSize(nal []byte) (int, int, error) {
	if len(nal) < 3 || (nal[0]>>1)&0x3f != hevcNALSPS {
		return 0, 0, errors.New("bitstream: not an HEVC SPS")
	}
	r := bitReader{b: rbsp(nal[2:])}
	r.skip(4) // sps_video_parameter_set_id
	subLayers := int(r.bits(3))
	r.skip(1) // sps_temporal_id_nesting_flag
	skipProfileTierLevel(&r, subLayers)
	r.ue() // sps_seq_parameter_set_id
	chroma := r.ue()
	if chroma > 3 {
		return 0, 0, fmt.Errorf("bitstream: chroma_format_idc %d", chroma)
	}
	if chroma == 3 && r.flag() { // separate_colour_plane_flag
		chroma = 0
	}
	w, h := r.ue(), r.ue()
	var left, right, top, bottom uint32
	if r.flag() { // conformance_window_flag
		left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err != nil {
		return 0, 0, fmt.Errorf("bitstream: HEVC SPS: %w", r.err)
	}
	if w == 0 || h == 0 || w > maxMBs*16 || h > maxMBs*16 {
		return 0, 0, fmt.Errorf("bitstream: HEVC SPS picture of %dx%d", w, h)
	}
	subW, subH := 1, 1
	switch chroma {
	case 1:
		subW, subH = 2, 2
	case 2:
		subW = 2
	}
	return crop(int(w), int(h), subW, subH, left, right, top, bottom)
}

func skipProfileTierLevel(r *bitReader, maxSubLayersMinus1 int) {
	r.skip(88) // general profile space, tier, profile, flags
	r.skip(8)  // general_level_idc
	profile, level := make([]bool, maxSubLayersMinus1), make([]bool, maxSubLayersMinus1)
	for i := range maxSubLayersMinus1 {
		profile[i], level[i] = r.flag(), r.flag()
	}
	if maxSubLayersMinus1 > 0 {
		r.skip(2 * (8 - maxSubLayersMinus1)) // reserved_zero_2bits
	}
	for i := range maxSubLayersMinus1 {
		if profile[i] {
			r.skip(88)
		}
		if level[i] {
			r.skip(8)
		}
	}
}
