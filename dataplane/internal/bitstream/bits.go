package bitstream

import "errors"

// errShort reports a bitstream that ends before its syntax does.
var errShort = errors.New("bitstream: truncated bitstream")

// bitReader reads MSB-first bits and exp-Golomb codes from an RBSP. Reads
// past the end return errShort (sticky) instead of panicking.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *bitReader) bits(n int) uint32 {
	if r.err != nil {
		return 0
	}
	if n < 0 || n > 32 || r.pos+n > len(r.b)*8 {
		r.err = errShort
		return 0
	}
	var v uint32
	for range n {
		v = v<<1 | uint32(r.b[r.pos>>3]>>(7-r.pos&7))&1
		r.pos++
	}
	return v
}

func (r *bitReader) flag() bool { return r.bits(1) == 1 }

func (r *bitReader) skip(n int) {
	for n > 32 {
		r.bits(32)
		n -= 32
	}
	r.bits(n)
}

// ue reads an unsigned exp-Golomb code (ITU-T H.264 §9.1).
func (r *bitReader) ue() uint32 {
	zeros := 0
	for !r.flag() {
		if r.err != nil {
			return 0
		}
		zeros++
		if zeros > 31 {
			r.err = errors.New("bitstream: exp-Golomb code too long")
			return 0
		}
	}
	return uint32(1)<<zeros - 1 + r.bits(zeros)
}

// se reads a signed exp-Golomb code.
func (r *bitReader) se() int32 {
	v := r.ue()
	if v&1 == 1 {
		return int32((v + 1) / 2)
	}
	return -int32(v / 2)
}

// rbsp removes the emulation prevention bytes (0x000003) of a NAL unit.
func rbsp(nal []byte) []byte {
	out := make([]byte, 0, len(nal))
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}
