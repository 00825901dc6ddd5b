package chunk

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// ReaderConfig bounds what a peer can make a Reader hold.
type ReaderConfig struct {
	// MaxChunkSize is the largest Set Chunk Size accepted (default 64 KiB).
	MaxChunkSize int
	// MaxMessageSize is the largest message accepted (default 8 MiB),
	// checked when a message starts; SetLimits changes it.
	MaxMessageSize int
	// MaxBuffered bounds the bytes the Reader's message buffers hold at
	// once, across chunk streams: messages partly read and the buffers
	// kept for reuse, which it lets go first when it needs room (default
	// twice MaxMessageSize; never below MaxMessageSize). A message that
	// would need more fails with ErrBuffered. Buffers grow as the bytes
	// arrive (doubling), not to the length a header announces, so a
	// header costs nothing until its message's bytes come.
	MaxBuffered int
	// MaxChunkStreams bounds how many chunk stream ids the peer may use
	// (default 64); each keeps a header and a payload buffer.
	MaxChunkStreams int
	// BufferSize is the read buffer's size (default 16 KiB).
	BufferSize int
	// Buffered, if not nil, follows what the message buffers hold: the
	// Reader adds to it as they grow and subtracts what it lets go,
	// Release included. Readers may share one.
	Buffered *atomic.Int64
}

func (c ReaderConfig) withDefaults() ReaderConfig {
	if c.MaxChunkSize <= 0 {
		c.MaxChunkSize = 64 << 10
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 8 << 20
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = 2 * c.MaxMessageSize
	}
	c.MaxBuffered = max(c.MaxBuffered, c.MaxMessageSize)
	if c.MaxChunkStreams <= 0 {
		c.MaxChunkStreams = 64
	}
	if c.BufferSize <= 0 {
		c.BufferSize = 16 << 10
	}
	return c
}

// minGrow is the least a message buffer grows by (unless the message
// ends sooner): a message's buffer starts at this size and doubles as its
// bytes arrive.
const minGrow = 4 << 10

// Errors the Reader returns (wrapped with details).
var (
	ErrProtocol     = errors.New("chunk: protocol violation")
	ErrTooLarge     = errors.New("chunk: message too large")
	ErrBuffered     = errors.New("chunk: too many bytes buffered")
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
	// held is what the chunk streams' buffers hold (their capacity).
	held int

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
		// A message starts: with a new header, or a type-3 chunk
		// repeating the last one, whose length may predate SetLimits.
		if int(cs.length) > r.cfg.MaxMessageSize {
			return nil, fmt.Errorf("%w: %d bytes of type %d (limit %d)", ErrTooLarge, cs.length, cs.typ, r.cfg.MaxMessageSize)
		}
		cs.inProgress = true
		cs.buf = cs.buf[:0]
	}
	if err := r.readPayload(cs, min(int(cs.length)-len(cs.buf), r.chunkSize)); err != nil {
		return nil, err
	}
	if len(cs.buf) < int(cs.length) {
		return nil, nil
	}
	cs.inProgress = false
	r.msg = Message{CSID: csid, Type: cs.typ, StreamID: cs.msid, Timestamp: cs.timestamp, Payload: cs.buf}
	return &r.msg, nil
}

// readPayload reads the next n bytes of cs's message into its buffer,
// growing the buffer as they arrive.
func (r *Reader) readPayload(cs *chunkStream, n int) error {
	for n > 0 {
		if len(cs.buf) == cap(cs.buf) {
			// Grow once more bytes are here, not for a header alone.
			if _, err := r.br.Peek(1); err != nil {
				return err
			}
			if err := r.grow(cs); err != nil {
				return err
			}
		}
		start := len(cs.buf)
		k := min(n, cap(cs.buf)-start)
		cs.buf = cs.buf[:start+k]
		if err := r.read(cs.buf[start:]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// grow makes room for more of cs's message, which is longer than its
// full buffer: it doubles the buffer (to at least minGrow), up to the
// message's length and to what MaxBuffered leaves once the other chunk
// streams' idle buffers are let go.
func (r *Reader) grow(cs *chunkStream) error {
	want := min(int(cs.length), max(2*cap(cs.buf), minGrow))
	room := func() int { return r.cfg.MaxBuffered - (r.held - cap(cs.buf)) }
	if want > room() {
		r.dropIdle(cs)
	}
	if want = min(want, room()); want <= len(cs.buf) {
		return fmt.Errorf("%w: %d held, a message of %d bytes needs more (limit %d)", ErrBuffered, r.held, cs.length, r.cfg.MaxBuffered)
	}
	buf := make([]byte, len(cs.buf), want)
	copy(buf, cs.buf)
	r.account(want - cap(cs.buf))
	cs.buf = buf
	return nil
}

// dropIdle lets go of the buffers of chunk streams other than keep that
// are between messages (the last message returned included: it is valid
// only until the next call).
func (r *Reader) dropIdle(keep *chunkStream) {
	for _, cs := range r.streams {
		if cs != keep && !cs.inProgress && cap(cs.buf) > 0 {
			r.account(-cap(cs.buf))
			cs.buf = nil
		}
	}
}

func (r *Reader) account(delta int) {
	r.held += delta
	if r.cfg.Buffered != nil {
		r.cfg.Buffered.Add(int64(delta))
	}
}

// SetLimits changes MaxMessageSize and MaxBuffered (values <= 0 leave
// them as they are; MaxBuffered is at least MaxMessageSize). The message
// size applies to messages that start from now; buffers kept for reuse
// beyond the new MaxBuffered are let go at once, and a message being read
// fails if it needs more room than MaxBuffered leaves.
func (r *Reader) SetLimits(maxMessage, maxBuffered int) {
	if maxMessage > 0 {
		r.cfg.MaxMessageSize = maxMessage
	}
	if maxBuffered > 0 {
		r.cfg.MaxBuffered = maxBuffered
	}
	r.cfg.MaxBuffered = max(r.cfg.MaxBuffered, r.cfg.MaxMessageSize)
	if r.held > r.cfg.MaxBuffered {
		r.dropIdle(nil)
	}
}

// Buffered returns the bytes the message buffers hold (see
// ReaderConfig.MaxBuffered).
func (r *Reader) Buffered() int { return r.held }

// Release lets go of every message buffer, the last message's payload
// included, and takes them off ReaderConfig.Buffered. The Reader remains
// usable (partial messages are lost) and grows new buffers.
func (r *Reader) Release() {
	for _, cs := range r.streams {
		cs.inProgress = false
		cs.buf = nil
	}
	r.account(-r.held)
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
		cs.length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
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
