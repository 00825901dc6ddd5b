package bitstream

import (
	"bytes"
	"fmt"
)

// H.264 NAL unit types (ITU-T H.264 Table 7-1) that the server acts on.
// RTP's aggregation and fragmentation types belong to the RTP packetizer.
const (
	H264NALSlice = 1 // coded slice of a non-IDR picture
	H264NALIDR   = 5 // coded slice of an IDR picture: a decoder can start here
	H264NALSEI   = 6
	H264NALSPS   = 7
	H264NALPPS   = 8
	H264NALAUD   = 9 // access unit delimiter
)

// H264NALType returns nal_unit_type, 0 (unspecified) for an empty unit.
func H264NALType(nal []byte) uint8 {
	if len(nal) == 0 {
		return 0
	}
	return nal[0] & 0x1f
}

// H264IsKeyframe tells whether an access unit holds an IDR slice, the one
// point where a player joining the stream can start decoding.
func H264IsKeyframe(au [][]byte) bool {
	for _, nal := range au {
		if H264NALType(nal) == H264NALIDR {
			return true
		}
	}
	return false
}

// SplitAVCC returns the NAL units of an access unit in AVCC form (each
// behind a 4-byte big-endian length), as FLV and MP4 carry them.
func SplitAVCC(au []byte) ([][]byte, error) { return SplitAVCCN(au, 4) }

// SplitAVCCN is SplitAVCC for lengths of lengthSize bytes (1 to 4), which
// a stream's AVCConfig.LengthSize tells. The units are sub-slices of au,
// capped so that appending to one cannot overwrite the next. Zero-length
// units carry nothing and are skipped.
func SplitAVCCN(au []byte, lengthSize int) ([][]byte, error) {
	if lengthSize < 1 || lengthSize > 4 {
		return nil, fmt.Errorf("bitstream: AVCC length size %d", lengthSize)
	}
	var nalus [][]byte
	for len(au) > 0 {
		if len(au) < lengthSize {
			return nil, fmt.Errorf("bitstream: AVCC length: %w", errShort)
		}
		var n uint64 // not int: a 4-byte length would overflow a 32-bit int
		for _, c := range au[:lengthSize] {
			n = n<<8 | uint64(c)
		}
		au = au[lengthSize:]
		if n > uint64(len(au)) {
			return nil, fmt.Errorf("bitstream: AVCC NAL unit of %d bytes with %d left: %w", n, len(au), errShort)
		}
		if n > 0 {
			nalus = append(nalus, au[:n:n])
		}
		au = au[n:]
	}
	return nalus, nil
}

// AppendAVCC appends the NAL units in AVCC form with 4-byte lengths (the
// lengthSizeMinusOne = 3 that AppendAVCConfig writes), skipping empty ones.
func AppendAVCC(dst []byte, nalus ...[]byte) []byte {
	for _, nal := range nalus {
		if len(nal) > 0 {
			n := len(nal)
			dst = append(dst, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			dst = append(dst, nal...)
		}
	}
	return dst
}

var startCode = []byte{0, 0, 1}

// SplitAnnexB returns the NAL units of an Annex-B byte stream (ITU-T H.264
// Annex B), as sub-slices of b. Units lie between 00 00 01 start codes; the
// zero bytes before one (the fourth byte of a 4-byte start code, or
// trailing_zero_8bits) are trimmed, which never cuts a unit short since a
// NAL unit never ends in a zero byte. Bytes before the first start code
// count as a unit too, so input without any start code is one NAL unit.
func SplitAnnexB(b []byte) [][]byte {
	var nalus [][]byte
	for {
		i := bytes.Index(b, startCode)
		unit := b
		if i >= 0 {
			unit = b[:i]
		}
		if unit = bytes.TrimRight(unit, "\x00"); len(unit) > 0 {
			nalus = append(nalus, unit[:len(unit):len(unit)])
		}
		if i < 0 {
			return nalus
		}
		b = b[i+len(startCode):]
	}
}

// AppendAnnexB appends the NAL units each behind a 4-byte start code,
// skipping empty ones.
func AppendAnnexB(dst []byte, nalus ...[]byte) []byte {
	for _, nal := range nalus {
		if len(nal) > 0 {
			dst = append(dst, 0, 0, 0, 1)
			dst = append(dst, nal...)
		}
	}
	return dst
}

// AVCCToAnnexB appends the AVCC access unit au (4-byte lengths) in Annex-B
// form to dst, which must not overlap au. On error it appends nothing.
func AVCCToAnnexB(dst, au []byte) ([]byte, error) {
	nalus, err := SplitAVCC(au)
	if err != nil {
		return dst, err
	}
	return AppendAnnexB(dst, nalus...), nil
}

// AnnexBToAVCC appends the Annex-B stream b in AVCC form (4-byte lengths)
// to dst, which must not overlap b.
func AnnexBToAVCC(dst, b []byte) []byte {
	return AppendAVCC(dst, SplitAnnexB(b)...)
}
