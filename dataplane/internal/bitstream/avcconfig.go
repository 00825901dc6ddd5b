package bitstream

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// AVCConfig is an AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3.1),
// the avcC of MP4 and the body of an FLV AVC sequence header.
type AVCConfig struct {
	SPS, PPS                            [][]byte // sub-slices of the parsed record
	ProfileIDC, Compatibility, LevelIDC uint8
	// LengthSize is the size in bytes of the NAL unit lengths in the
	// stream's samples: SplitAVCCN's lengthSize.
	LengthSize int
}

// ParseAVCConfig reads every SPS and PPS of an AVCDecoderConfigurationRecord.
// The high profiles' chroma and bit depth extension after them is ignored:
// it repeats what the SPS says.
func ParseAVCConfig(rec []byte) (AVCConfig, error) {
	if len(rec) < 7 || rec[0] != 1 {
		return AVCConfig{}, errors.New("bitstream: not an AVCDecoderConfigurationRecord")
	}
	c := AVCConfig{ProfileIDC: rec[1], Compatibility: rec[2], LevelIDC: rec[3], LengthSize: int(rec[4]&3) + 1}
	sps, rest, err := parameterSets(rec[5:], 0x1f)
	if err != nil {
		return AVCConfig{}, err
	}
	if len(sps) == 0 {
		return AVCConfig{}, errors.New("bitstream: AVC record without an SPS")
	}
	pps, _, err := parameterSets(rest, 0xff)
	if err != nil {
		return AVCConfig{}, err
	}
	c.SPS, c.PPS = sps, pps
	return c, nil
}

// parameterSets reads a count (the bits of mask in the first byte) and as
// many parameter sets behind 16-bit lengths, returning what follows. The
// count is at most 255, so it bounds what is allocated.
func parameterSets(p []byte, mask byte) (sets [][]byte, rest []byte, err error) {
	if len(p) < 1 {
		return nil, nil, fmt.Errorf("bitstream: AVC record: %w", errShort)
	}
	n := int(p[0] & mask)
	p, sets = p[1:], make([][]byte, 0, n)
	for range n {
		if len(p) < 2 {
			return nil, nil, fmt.Errorf("bitstream: AVC record: %w", errShort)
		}
		l := int(binary.BigEndian.Uint16(p))
		if l == 0 {
			return nil, nil, errors.New("bitstream: AVC record with an empty parameter set")
		}
		if len(p) < 2+l {
			return nil, nil, fmt.Errorf("bitstream: AVC record: %w", errShort)
		}
		sets, p = append(sets, p[2:2+l:2+l]), p[2+l:]
	}
	return sets, p, nil
}

// AppendAVCConfig appends an AVCDecoderConfigurationRecord of the SPS and
// PPS NAL units, as an FLV AVC sequence header or an avcC needs them: the
// profile, compatibility and level bytes are the first SPS's, the NAL unit
// lengths 4 bytes (as AppendAVCC writes them). The first SPS must parse
// (ParseSPS), as a reader of the record will parse it.
//
// For profiles other than Baseline, Main and Extended it also writes the
// chroma format and bit depth extension of §5.3.3.1.2, taken from the first
// SPS, with no SPS extension units, as ffmpeg's ff_isom_write_avcc does
// (and as its mp4 and flv muxers write it), so that a record built here is
// byte for byte the one ffmpeg builds. Readers that predate the extension
// ignore trailing bytes. On error it appends nothing.
func AppendAVCConfig(dst []byte, sps, pps [][]byte) ([]byte, error) {
	if len(sps) == 0 || len(sps) > 31 || len(pps) == 0 || len(pps) > 255 {
		return dst, fmt.Errorf("bitstream: AVC record of %d SPS and %d PPS", len(sps), len(pps))
	}
	s, err := ParseSPS(sps[0])
	if err != nil {
		return dst, err
	}
	if err := checkNALTypes(sps, H264NALSPS); err != nil {
		return dst, err
	}
	if err := checkNALTypes(pps, H264NALPPS); err != nil {
		return dst, err
	}
	dst = append(dst, 1, sps[0][1], sps[0][2], sps[0][3], 0xfc|3, 0xe0|byte(len(sps)))
	dst = appendParameterSets(dst, sps)
	dst = append(dst, byte(len(pps)))
	dst = appendParameterSets(dst, pps)
	switch s.ProfileIDC {
	case 66, 77, 88:
	default:
		dst = append(dst, 0xfc|byte(s.ChromaFormat), 0xf8|(s.BitDepthLuma-8), 0xf8|(s.BitDepthChroma-8), 0)
	}
	return dst, nil
}

func checkNALTypes(nalus [][]byte, typ uint8) error {
	for _, nal := range nalus {
		if H264NALType(nal) != typ || len(nal) > 0xffff {
			return fmt.Errorf("bitstream: NAL unit of type %d and %d bytes where an AVC record takes type %d", H264NALType(nal), len(nal), typ)
		}
	}
	return nil
}

func appendParameterSets(dst []byte, sets [][]byte) []byte {
	for _, nal := range sets {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(nal)))
		dst = append(dst, nal...)
	}
	return dst
}
