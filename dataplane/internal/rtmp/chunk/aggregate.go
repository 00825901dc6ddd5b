package chunk

import "fmt"

// Sizes of an aggregate's framing: each sub-message is an FLV tag, a
// header (type, 3-byte size, 3-byte timestamp and its high byte, 3-byte
// stream id) and the data, followed by the previous tag's size.
const (
	tagHeaderLen   = 11
	prevTagSizeLen = 4
)

// SplitAggregate calls fn with each audio, video and AMF0 data
// sub-message of the aggregate message m, in order, and skips the others.
// The message fn gets, and its Payload (a sub-slice of m.Payload), are
// valid only during the call.
//
// The first sub-message takes m's timestamp and the others keep their
// offsets from it. They travel on m's chunk and message streams: the
// tags' own stream ids are always 0 in FLV.
//
// At the first malformed tag SplitAggregate stops and returns an error
// wrapping ErrProtocol, having delivered the tags before it.
func SplitAggregate(m *Message, fn func(*Message)) error {
	p := m.Payload
	var delta uint32
	sub := Message{CSID: m.CSID, StreamID: m.StreamID}
	for first := true; len(p) > 0; first = false {
		if len(p) < tagHeaderLen {
			return fmt.Errorf("%w: aggregate: %d bytes left, short of a tag header", ErrProtocol, len(p))
		}
		// Like SRS, require the previous tag size but ignore its value.
		size := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if len(p) < tagHeaderLen+size+prevTagSizeLen {
			return fmt.Errorf("%w: aggregate: a tag of %d bytes overruns the %d left", ErrProtocol, size, len(p))
		}
		ts := uint32(p[7])<<24 | uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6])
		if first {
			delta = m.Timestamp - ts
		}
		switch typ := p[0]; typ {
		case TypeAudio, TypeVideo, TypeDataAMF0:
			sub.Type, sub.Timestamp = typ, ts+delta
			// Capped, so that appending to it cannot overwrite the next tag.
			sub.Payload = p[tagHeaderLen : tagHeaderLen+size : tagHeaderLen+size]
			fn(&sub)
		}
		p = p[tagHeaderLen+size+prevTagSizeLen:]
	}
	return nil
}
