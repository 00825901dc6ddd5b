// Package chunk implements the RTMP chunk stream: a Reader that reassembles
// messages from interleaved chunks (and obeys the protocol control
// messages that change how chunks are read), and an encoder that turns one
// message into bytes that any number of connections can share.
package chunk

import (
	"encoding/binary"
)

// Message types (RTMP specification §5.4 and §7.1).
const (
	TypeSetChunkSize     uint8 = 1
	TypeAbort            uint8 = 2
	TypeAck              uint8 = 3
	TypeUserControl      uint8 = 4
	TypeWindowAckSize    uint8 = 5
	TypeSetPeerBandwidth uint8 = 6
	TypeAudio            uint8 = 8
	TypeVideo            uint8 = 9
	TypeDataAMF3         uint8 = 15
	TypeSharedObjectAMF3 uint8 = 16
	TypeCommandAMF3      uint8 = 17
	TypeDataAMF0         uint8 = 18
	TypeSharedObjectAMF0 uint8 = 19
	TypeCommandAMF0      uint8 = 20
	TypeAggregate        uint8 = 22
)

// Chunk stream ids, as SRS assigns them: peers do not care which ids carry
// what, but using one id per kind of message keeps the fmt0 headers of
// interleaved audio and video independent.
const (
	CSIDProtocolControl uint32 = 2
	CSIDConnection      uint32 = 3
	CSIDStream          uint32 = 5
	CSIDVideo           uint32 = 6
	CSIDAudio           uint32 = 7
)

// User control event types (§7.1.7).
const (
	EventStreamBegin     uint16 = 0
	EventStreamEOF       uint16 = 1
	EventStreamDry       uint16 = 2
	EventSetBufferLength uint16 = 3
	EventPingRequest     uint16 = 6
	EventPingResponse    uint16 = 7
)

// Peer bandwidth limit types (§5.4.5).
const (
	LimitHard    byte = 0
	LimitSoft    byte = 1
	LimitDynamic byte = 2
)

// DefaultChunkSize is the chunk size both directions start with.
const DefaultChunkSize = 128

// MaxChunkSize is the largest chunk size the protocol allows (31 bits).
const MaxChunkSize = 0x7fffffff

// extendedTimestamp is the 24-bit timestamp value announcing a 32-bit
// extended timestamp after the message header.
const extendedTimestamp = 0xffffff

// Message is one RTMP message.
type Message struct {
	// CSID is the chunk stream the message travels on.
	CSID      uint32
	Type      uint8
	StreamID  uint32
	Timestamp uint32
	Payload   []byte
}

// basicHeaderLen is the size of the basic header for csid.
func basicHeaderLen(csid uint32) int {
	switch {
	case csid < 64:
		return 1
	case csid < 64+256:
		return 2
	default:
		return 3
	}
}

func appendBasicHeader(dst []byte, fmt byte, csid uint32) []byte {
	switch {
	case csid < 64:
		return append(dst, fmt<<6|byte(csid))
	case csid < 64+256:
		return append(dst, fmt<<6, byte(csid-64))
	default:
		v := csid - 64
		return append(dst, fmt<<6|1, byte(v), byte(v>>8))
	}
}

// EncodedLen returns how many bytes AppendMessage adds for m.
func EncodedLen(chunkSize int, m *Message) int {
	chunks := 1
	if n := len(m.Payload); n > chunkSize {
		chunks = (n + chunkSize - 1) / chunkSize
	}
	bh := basicHeaderLen(m.CSID)
	per := bh // every continuation: basic header (+ extended timestamp)
	first := bh + 11
	if m.Timestamp >= extendedTimestamp {
		per += 4
		first += 4
	}
	return first + (chunks-1)*per + len(m.Payload)
}

// AppendMessage appends m as one type-0 chunk followed by type-3
// continuations. Every message so encoded is self-contained (absolute
// timestamp, no reference to the previous header on its chunk stream), so
// the bytes can be written to any connection whose peer expects chunkSize,
// in any order with other such messages. chunkSize must be at least 1; the
// encoders of this module use at least DefaultChunkSize.
//
// When the timestamp needs the extended field, it is repeated in every
// continuation, as Flash, ffmpeg and SRS expect.
func AppendMessage(dst []byte, chunkSize int, m *Message) []byte {
	if need := EncodedLen(chunkSize, m); cap(dst)-len(dst) < need {
		grown := make([]byte, len(dst), len(dst)+need)
		copy(grown, dst)
		dst = grown
	}
	ts := m.Timestamp
	ext := ts >= extendedTimestamp
	if ext {
		ts = extendedTimestamp
	}
	dst = appendBasicHeader(dst, 0, m.CSID)
	dst = append(dst, byte(ts>>16), byte(ts>>8), byte(ts))
	n := len(m.Payload)
	dst = append(dst, byte(n>>16), byte(n>>8), byte(n), m.Type)
	dst = binary.LittleEndian.AppendUint32(dst, m.StreamID)
	if ext {
		dst = binary.BigEndian.AppendUint32(dst, m.Timestamp)
	}
	p := m.Payload
	for first := true; first || len(p) > 0; first = false {
		if !first {
			dst = appendBasicHeader(dst, 3, m.CSID)
			if ext {
				dst = binary.BigEndian.AppendUint32(dst, m.Timestamp)
			}
		}
		k := min(len(p), chunkSize)
		dst = append(dst, p[:k]...)
		p = p[k:]
	}
	return dst
}

// appendControl appends a protocol control message (chunk stream 2,
// message stream 0). Their payloads are shorter than any chunk size.
func appendControl(dst []byte, typ uint8, payload []byte) []byte {
	return AppendMessage(dst, DefaultChunkSize, &Message{CSID: CSIDProtocolControl, Type: typ, Payload: payload})
}

// AppendSetChunkSize appends a Set Chunk Size message.
func AppendSetChunkSize(dst []byte, size uint32) []byte {
	return appendControl(dst, TypeSetChunkSize, binary.BigEndian.AppendUint32(nil, size&MaxChunkSize))
}

// AppendWindowAckSize appends a Window Acknowledgement Size message.
func AppendWindowAckSize(dst []byte, size uint32) []byte {
	return appendControl(dst, TypeWindowAckSize, binary.BigEndian.AppendUint32(nil, size))
}

// AppendSetPeerBandwidth appends a Set Peer Bandwidth message.
func AppendSetPeerBandwidth(dst []byte, size uint32, limit byte) []byte {
	return appendControl(dst, TypeSetPeerBandwidth, append(binary.BigEndian.AppendUint32(nil, size), limit))
}

// AppendAck appends an Acknowledgement of seq bytes received.
func AppendAck(dst []byte, seq uint32) []byte {
	return appendControl(dst, TypeAck, binary.BigEndian.AppendUint32(nil, seq))
}

// AppendUserControl appends a User Control message with a 4-byte datum
// (a stream id for the stream events, a timestamp for pings).
func AppendUserControl(dst []byte, event uint16, data uint32) []byte {
	p := binary.BigEndian.AppendUint16(make([]byte, 0, 10), event)
	p = binary.BigEndian.AppendUint32(p, data)
	return appendControl(dst, TypeUserControl, p)
}

// AppendStreamBegin tells the peer that message stream msid begins.
func AppendStreamBegin(dst []byte, msid uint32) []byte {
	return AppendUserControl(dst, EventStreamBegin, msid)
}

// AppendStreamEOF tells the peer that message stream msid ended.
func AppendStreamEOF(dst []byte, msid uint32) []byte {
	return AppendUserControl(dst, EventStreamEOF, msid)
}

// AppendPingRequest asks the peer to echo ts.
func AppendPingRequest(dst []byte, ts uint32) []byte {
	return AppendUserControl(dst, EventPingRequest, ts)
}

// AppendPingResponse answers a Ping Request carrying ts.
func AppendPingResponse(dst []byte, ts uint32) []byte {
	return AppendUserControl(dst, EventPingResponse, ts)
}

// ParseUserControl splits a User Control payload into its event type and
// its first 4-byte datum (absent data read as 0).
func ParseUserControl(p []byte) (event uint16, data uint32, ok bool) {
	if len(p) < 2 {
		return 0, 0, false
	}
	event = binary.BigEndian.Uint16(p)
	if len(p) >= 6 {
		data = binary.BigEndian.Uint32(p[2:])
	}
	return event, data, true
}
