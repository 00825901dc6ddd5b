package chunk

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ReaderConfig bounds what a peer can make a Reader hold.
type ReaderConfig struct {
	// MaxChunkSize is the largest Set Chunk Size accepted (default 64 KiB).
	MaxChunkSize int
	// MaxMessageSize is the largest message accepted (default 8 MiB).
	MaxMessageSize int
	// MaxChunkStreams bounds how many chunk stream ids the peer may use
	// (default 64); each keeps a header and a payload buffer.
	MaxChunkStreams int
	// BufferSize is the read buffer's size (default 16 KiB).
	BufferSize int
}

func (c ReaderConfig) withDefaults() ReaderConfig {
	if c.MaxChunkSize <= 0 {
		c.MaxChunkSize = 64 << 10
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 8 << 20
	}
	if c.MaxChunkStreams <= 0 {
		c.MaxChunkStreams = 64
	}
	if c.BufferSize <= 0 {
		c.BufferSize = 16 << 10
	}
	return c
}

// Errors the Reader returns (wrapped with details).
var (
	ErrProtocol     = errors.New("chunk: protocol violation")
	ErrTooLarge     = errors.New("chunk: message too large")
	ErrChunkSize    = errors.New("chunk: chunk size out of bounds")
	ErrTooManyCSIDs = errors.New("chunk: too many chunk streams")
)

// chunkStream is the state of one chunk stream id: the last header (which
// later chunks may inherit) and the message being reassembled.
type chunkStream struct {
	typ       uint8
	msid      uint32
	length    uint32
	timestamp uint32
	// delta is the timestamp field of the last header: the absolute
	// timestamp for type 0, the delta for types 1 and 2. A type-3 chunk
	// that starts a message adds it again (as ffmpeg reads and writes).
	delta uint32
	// extended is set when the last header carried an extended timestamp;
	// type-3 chunks then repeat it.
	extended bool
	// extValue is the extended timestamp field of the last full header.
	extValue uint32
	// inProgress is set while a message is partly read.
	inProgress bool
	buf        []byte
}

// Reader reads messages from a chunk stream. It applies Set Chunk Size,
// Abort and Window Acknowledgement Size itself (and still returns them)
// and tracks the bytes read so its owner can acknowledge them (AckDue).
// It is not safe for concurrent use.
type Reader struct {
	br        *bufio.Reader
	cfg       ReaderConfig
	chunkSize int
	streams   map[uint32]*chunkStream
	hdr       [16]byte
	msg       Message // returned by ReadMessage, reused

	received uint64 // bytes consumed from the chunk stream
	window   uint32 // the peer's acknowledgement window, 0 until it says
	acked    uint64 // received when the last ack was due
}

// NewReader reads chunks from r through a buffer of cfg.BufferSize.
func NewReader(r io.Reader, cfg ReaderConfig) *Reader {
	cfg = cfg.withDefaults()
	return &Reader{
		br:        bufio.NewReaderSize(r, cfg.BufferSize),
		cfg:       cfg,
		chunkSize: DefaultChunkSize,
		streams:   make(map[uint32]*chunkStream),
	}
}

// ChunkSize returns the peer's current chunk size.
func (r *Reader) ChunkSize() int { return r.chunkSize }

// AckDue reports whether a window's worth of bytes arrived since the last
// acknowledgement, and the sequence number to acknowledge. The owner sends
// AppendAck(seq) when it is due.
func (r *Reader) AckDue() (seq uint32, due bool) {
	if r.window == 0 || r.received-r.acked < uint64(r.window) {
		return 0, false
	}
	r.acked = r.received
	return uint32(r.received), true
}

// Received returns how many bytes of the chunk stream were consumed.
func (r *Reader) Received() uint64 { return r.received }

func (r *Reader) read(p []byte) error {
	n, err := io.ReadFull(r.br, p)
	r.received += uint64(n)
	return err
}

// ReadMessage returns the next complete message. The message and its
// Payload are valid until the next call: they are the Reader's buffers.
func (r *Reader) ReadMessage() (*Message, error) {
	for {
		m, err := r.readChunk()
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue
		}
		if err := r.control(m); err != nil {
			return nil, err
		}
		return m, nil
	}
}

// readChunk reads one chunk; it returns a message when the chunk completes
// one.
func (r *Reader) readChunk() (*Message, error) {
	fmtType, csid, err := r.basicHeader()
	if err != nil {
		return nil, err
	}
	cs := r.streams[csid]
	if cs == nil {
		// A chunk stream must start with a full header; like SRS we let a
		// type-1 header open one (some encoders start with it), which
		// leaves the message stream id 0.
		if fmtType > 1 {
			return nil, fmt.Errorf("%w: chunk stream %d opens with a type-%d header", ErrProtocol, csid, fmtType)
		}
		if len(r.streams) >= r.cfg.MaxChunkStreams {
			return nil, fmt.Errorf("%w: %d in use", ErrTooManyCSIDs, len(r.streams))
		}
		cs = &chunkStream{}
		r.streams[csid] = cs
	}
	if cs.inProgress && fmtType != 3 {
		return nil, fmt.Errorf("%w: type-%d header in the middle of a message on chunk stream %d", ErrProtocol, fmtType, csid)
	}
	if err := r.messageHeader(cs, fmtType); err != nil {
		return nil, err
	}
	if !cs.inProgress {
		cs.inProgress = true
		cs.buf = cs.buf[:0]
	}

	n := min(int(cs.length)-len(cs.buf), r.chunkSize)
	start := len(cs.buf)
	cs.buf = slices.Grow(cs.buf, n)[:start+n]
	if err := r.read(cs.buf[start:]); err != nil {
		return nil, err
	}
	if len(cs.buf) < int(cs.length) {
		return nil, nil
	}
	cs.inProgress = false
	r.msg = Message{CSID: csid, Type: cs.typ, StreamID: cs.msid, Timestamp: cs.timestamp, Payload: cs.buf}
	return &r.msg, nil
}

func (r *Reader) basicHeader() (fmtType byte, csid uint32, err error) {
	b := r.hdr[:1]
	if err := r.read(b); err != nil {
		return 0, 0, err
	}
	fmtType, csid = b[0]>>6, uint32(b[0]&0x3f)
	switch csid {
	case 0:
		if err := r.read(b); err != nil {
			return 0, 0, err
		}
		csid = 64 + uint32(b[0])
	case 1:
		b = r.hdr[:2]
		if err := r.read(b); err != nil {
			return 0, 0, err
		}
		csid = 64 + uint32(b[0]) + uint32(b[1])<<8
	}
	return fmtType, csid, nil
}

// headerLen is the message header size of each chunk type.
var headerLen = [4]int{11, 7, 3, 0}

func (r *Reader) messageHeader(cs *chunkStream, fmtType byte) error {
	h := r.hdr[:headerLen[fmtType]]
	if err := r.read(h); err != nil {
		return err
	}
	var tsField uint32
	if fmtType < 3 {
		tsField = uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
		cs.extended = tsField == extendedTimestamp
	}
	if fmtType < 2 {
		length := uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
		if int(length) > r.cfg.MaxMessageSize {
			return fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, length, r.cfg.MaxMessageSize)
		}
		cs.length = length
		cs.typ = h[6]
	}
	if fmtType == 0 {
		cs.msid = binary.LittleEndian.Uint32(h[7:11])
	}
	if cs.extended {
		ext, err := r.extendedTimestamp(cs, fmtType)
		if err != nil {
			return err
		}
		if fmtType < 3 {
			tsField = ext
		}
	}
	switch {
	case fmtType == 0:
		cs.timestamp, cs.delta = tsField, tsField
	case fmtType < 3:
		cs.delta = tsField
		cs.timestamp += tsField
	case !cs.inProgress: // a type-3 chunk starting a new message
		cs.timestamp += cs.delta
	}
	return nil
}

// extendedTimestamp reads the 4-byte extended timestamp. Type 0–2 headers
// always carry it when announced. Type-3 chunks after them should repeat
// it, but some encoders do not: like SRS, peek and consume the 4 bytes
// only when they equal the value in force.
func (r *Reader) extendedTimestamp(cs *chunkStream, fmtType byte) (uint32, error) {
	if fmtType < 3 {
		b := r.hdr[11:15]
		if err := r.read(b); err != nil {
			return 0, err
		}
		cs.extValue = binary.BigEndian.Uint32(b)
		return cs.extValue, nil
	}
	p, err := r.br.Peek(4)
	if err != nil {
		return 0, err
	}
	if binary.BigEndian.Uint32(p) == cs.extValue {
		_, _ = r.br.Discard(4) // cannot fail: the bytes are buffered
		r.received += 4
	}
	return cs.extValue, nil
}

// control applies the protocol control messages that change how the
// stream is read.
func (r *Reader) control(m *Message) error {
	switch m.Type {
	case TypeSetChunkSize:
		if len(m.Payload) < 4 {
			return fmt.Errorf("%w: short Set Chunk Size", ErrProtocol)
		}
		size := binary.BigEndian.Uint32(m.Payload) & MaxChunkSize
		if size < 1 || int64(size) > int64(r.cfg.MaxChunkSize) {
			return fmt.Errorf("%w: %d (limit %d)", ErrChunkSize, size, r.cfg.MaxChunkSize)
		}
		r.chunkSize = int(size)
	case TypeAbort:
		if len(m.Payload) < 4 {
			return fmt.Errorf("%w: short Abort", ErrProtocol)
		}
		if cs := r.streams[binary.BigEndian.Uint32(m.Payload)]; cs != nil {
			cs.inProgress = false
			cs.buf = cs.buf[:0]
		}
	case TypeWindowAckSize:
		if len(m.Payload) < 4 {
			return fmt.Errorf("%w: short Window Acknowledgement Size", ErrProtocol)
		}
		r.window = binary.BigEndian.Uint32(m.Payload)
	}
	return nil
}
