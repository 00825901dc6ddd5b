// Package flv is FLV, the tag format RTMP messages and HTTP-FLV share: the
// file header, tags (reading and writing), the audio and video tag bodies
// (which codec, keyframe or sequence header, the track description SRS
// reports; legacy FLV and enhanced RTMP FourCC headers alike), and the
// mapping between tag bodies and the hub's codec-level packets.
//
// Every parser is written for hostile input: it returns an error, never
// panics.
package flv

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Tag types, which are also the RTMP message types of the same content.
const (
	TagAudio  = 8
	TagVideo  = 9
	TagScript = 18
)

// Header is the 9-byte FLV file header announcing audio and video,
// followed by the first PreviousTagSize (0).
var Header = []byte{'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0}

// TagHeaderLen is the size of a tag header; each tag is followed by its
// 4-byte PreviousTagSize.
const TagHeaderLen = 11

// MaxTagSize is the largest body a tag header can announce.
const MaxTagSize = 1<<24 - 1

// AppendTagHeader appends the header of a tag with a body of size bytes.
func AppendTagHeader(dst []byte, typ uint8, ts uint32, size int) []byte {
	return append(dst, typ, byte(size>>16), byte(size>>8), byte(size),
		byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
}

// AppendTagTrailer appends the PreviousTagSize of a tag whose body was
// size bytes.
func AppendTagTrailer(dst []byte, size int) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(TagHeaderLen+size))
}

// Tag is one tag read from a file or stream.
type Tag struct {
	Type      uint8
	Timestamp uint32 // milliseconds
	Body      []byte
}

// Reader reads tags after the file header.
type Reader struct {
	br      *bufio.Reader
	maxBody int
	started bool
}

// NewReader reads FLV from r, refusing tags larger than maxBody bytes
// (≤ 0: MaxTagSize).
func NewReader(r io.Reader, maxBody int) *Reader {
	if maxBody <= 0 || maxBody > MaxTagSize {
		maxBody = MaxTagSize
	}
	return &Reader{br: bufio.NewReader(r), maxBody: maxBody}
}

// ErrNotFLV: the input does not start with an FLV header.
var ErrNotFLV = errors.New("flv: not an FLV stream")

func (r *Reader) readHeader() error {
	var h [9]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return fmt.Errorf("flv: header: %w", err)
	}
	size := binary.BigEndian.Uint32(h[5:])
	if string(h[:3]) != "FLV" || size < 9 || size > 1<<10 {
		return ErrNotFLV
	}
	// The rest of the header, then PreviousTagSize0.
	if _, err := r.br.Discard(int(size) - len(h) + 4); err != nil {
		return fmt.Errorf("flv: header: %w", err)
	}
	return nil
}

// Next returns the next tag, with a body of its own. It returns io.EOF at
// the end of the input between tags.
func (r *Reader) Next() (Tag, error) {
	if !r.started {
		if err := r.readHeader(); err != nil {
			return Tag{}, err
		}
		r.started = true
	}
	var th [TagHeaderLen]byte
	if _, err := io.ReadFull(r.br, th[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Tag{}, io.EOF
		}
		return Tag{}, fmt.Errorf("flv: tag header: %w", err)
	}
	size := int(th[1])<<16 | int(th[2])<<8 | int(th[3])
	if size > r.maxBody {
		return Tag{}, fmt.Errorf("flv: a tag of %d bytes (at most %d)", size, r.maxBody)
	}
	t := Tag{
		Type:      th[0] & 0x1f, // the top bits are the filter flag and reserved
		Timestamp: uint32(th[7])<<24 | uint32(th[4])<<16 | uint32(th[5])<<8 | uint32(th[6]),
		Body:      make([]byte, size),
	}
	if _, err := io.ReadFull(r.br, t.Body); err != nil {
		return Tag{}, fmt.Errorf("flv: tag body: %w", io.ErrUnexpectedEOF)
	}
	var trailer [4]byte
	if _, err := io.ReadFull(r.br, trailer[:]); err != nil && !errors.Is(err, io.EOF) {
		return Tag{}, fmt.Errorf("flv: tag trailer: %w", io.ErrUnexpectedEOF)
	}
	return t, nil
}
