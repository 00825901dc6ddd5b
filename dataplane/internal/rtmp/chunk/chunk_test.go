package chunk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync/atomic"
	"testing"
)

func readAll(t *testing.T, b []byte, cfg ReaderConfig) ([]Message, error) {
	t.Helper()
	r := NewReader(bytes.NewReader(b), cfg)
	var out []Message
	for {
		m, err := r.ReadMessage()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if r.Received() != uint64(len(b)) {
					t.Fatalf("received %d of %d bytes", r.Received(), len(b))
				}
				return out, nil
			}
			return out, err
		}
		c := *m
		c.Payload = bytes.Clone(m.Payload)
		out = append(out, c)
	}
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}

func TestMessagesSurviveEncodingAndReading(t *testing.T) {
	tests := []struct {
		name      string
		chunkSize int
		m         Message
	}{
		{"an empty message", 128, Message{CSID: 3, Type: TypeCommandAMF0}},
		{"a message of one chunk", 128, Message{CSID: 3, Type: TypeCommandAMF0, StreamID: 1, Timestamp: 5, Payload: payload(100)}},
		{"a message of exactly one chunk", 128, Message{CSID: 6, Type: TypeVideo, Payload: payload(128)}},
		{"a message of many chunks", 128, Message{CSID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 1000, Payload: payload(1000)}},
		{"a two-byte chunk stream id", 4096, Message{CSID: 100, Type: TypeAudio, Payload: payload(5000)}},
		{"a three-byte chunk stream id", 4096, Message{CSID: 65599, Type: TypeAudio, Payload: payload(9000)}},
		{"an extended timestamp", 128, Message{CSID: 6, Type: TypeVideo, Timestamp: 0x12345678, Payload: payload(700)}},
		{"the smallest extended timestamp", 128, Message{CSID: 7, Type: TypeAudio, Timestamp: 0xffffff, Payload: payload(300)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			if tt.chunkSize != DefaultChunkSize {
				b = AppendSetChunkSize(b, uint32(tt.chunkSize))
			}
			start := len(b)
			b = AppendMessage(b, tt.chunkSize, &tt.m)
			if got, want := len(b)-start, EncodedLen(tt.chunkSize, &tt.m); got != want {
				t.Fatalf("encoded %d bytes, EncodedLen says %d", got, want)
			}
			msgs, err := readAll(t, b, ReaderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			got := msgs[len(msgs)-1]
			if got.CSID != tt.m.CSID || got.Type != tt.m.Type || got.StreamID != tt.m.StreamID ||
				got.Timestamp != tt.m.Timestamp || !bytes.Equal(got.Payload, tt.m.Payload) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

// header builds a chunk header by hand: basic header for csid < 64, then
// the fields the type carries.
func header(fmtType byte, csid byte, ts uint32, length int, typ uint8, msid uint32) []byte {
	b := []byte{fmtType<<6 | csid}
	if fmtType < 3 {
		f := min(ts, 0xffffff)
		b = append(b, byte(f>>16), byte(f>>8), byte(f))
	}
	if fmtType < 2 {
		b = append(b, byte(length>>16), byte(length>>8), byte(length), typ)
	}
	if fmtType == 0 {
		b = binary.LittleEndian.AppendUint32(b, msid)
	}
	if fmtType < 3 && ts >= 0xffffff {
		b = binary.BigEndian.AppendUint32(b, ts)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReaderAppliesHeaderCompressionToTimestamps(t *testing.T) {
	b := cat(
		header(0, 4, 1000, 2, TypeAudio, 1), []byte{1, 1},
		header(1, 4, 20, 3, TypeAudio, 0), []byte{2, 2, 2}, // delta 20, new length
		header(2, 4, 30, 0, 0, 0), []byte{3, 3, 3}, // delta 30, same length
		header(3, 4, 0, 0, 0, 0), []byte{4, 4, 4}, // repeats delta 30
	)
	msgs, err := readAll(t, b, ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{1000, 1020, 1050, 1080}
	if len(msgs) != len(want) {
		t.Fatalf("got %d messages", len(msgs))
	}
	for i, m := range msgs {
		if m.Timestamp != want[i] || m.StreamID != 1 || m.Type != TypeAudio || m.Payload[0] != byte(i+1) {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
}

func TestReaderReassemblesInterleavedChunkStreams(t *testing.T) {
	a, v := payload(200), payload(150)
	b := cat(
		header(0, 6, 40, len(v), TypeVideo, 1), v[:128],
		header(0, 7, 41, len(a), TypeAudio, 1), a[:128],
		header(3, 6, 0, 0, 0, 0), v[128:],
		header(3, 7, 0, 0, 0, 0), a[128:],
	)
	msgs, err := readAll(t, b, ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !bytes.Equal(msgs[0].Payload, v) || !bytes.Equal(msgs[1].Payload, a) ||
		msgs[0].Timestamp != 40 || msgs[1].Timestamp != 41 {
		t.Fatalf("got %+v", msgs)
	}
}

func TestReaderAcceptsContinuationsWithAndWithoutTheExtendedTimestamp(t *testing.T) {
	const ts = 0x01000000
	p := payload(300)
	ext := binary.BigEndian.AppendUint32(nil, ts)
	tests := []struct {
		name string
		b    []byte
	}{
		{"repeated", cat(header(0, 6, ts, 300, TypeVideo, 1), p[:128], header(3, 6, 0, 0, 0, 0), ext, p[128:256], header(3, 6, 0, 0, 0, 0), ext, p[256:])},
		{"omitted", cat(header(0, 6, ts, 300, TypeVideo, 1), p[:128], header(3, 6, 0, 0, 0, 0), p[128:256], header(3, 6, 0, 0, 0, 0), p[256:])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := readAll(t, tt.b, ReaderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Timestamp != ts || !bytes.Equal(msgs[0].Payload, p) {
				t.Fatalf("got %+v", msgs)
			}
		})
	}
}

func TestReaderReadsANewMessageOnAType3ChunkAfterAnExtendedTimestamp(t *testing.T) {
	const ts = 0x01000000
	b := cat(header(0, 6, ts, 2, TypeVideo, 1), []byte{1, 1}, header(3, 6, 0, 0, 0, 0), binary.BigEndian.AppendUint32(nil, ts), []byte{2, 2})
	msgs, err := readAll(t, b, ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Timestamp != 2*ts || msgs[1].Payload[0] != 2 {
		t.Fatalf("got %+v", msgs)
	}
}

func TestReaderFollowsSetChunkSizeAndAbort(t *testing.T) {
	p := payload(300)
	b := cat(
		AppendSetChunkSize(nil, 200),
		header(0, 6, 0, 300, TypeVideo, 1), p[:200], // left unfinished
		AppendMessage(nil, DefaultChunkSize, &Message{CSID: CSIDProtocolControl, Type: TypeAbort, Payload: []byte{0, 0, 0, 6}}),
		header(0, 6, 7, 300, TypeVideo, 1), p[:200], header(3, 6, 0, 0, 0, 0), p[200:],
	)
	r := NewReader(bytes.NewReader(b), ReaderConfig{})
	var last Message
	for {
		m, err := r.ReadMessage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = *m
	}
	if r.ChunkSize() != 200 {
		t.Fatalf("chunk size %d", r.ChunkSize())
	}
	if last.Type != TypeVideo || last.Timestamp != 7 || !bytes.Equal(last.Payload, p) {
		t.Fatalf("got %+v", last)
	}
}

func TestReaderRejectsWhatExceedsItsBounds(t *testing.T) {
	var many []byte
	for csid := byte(3); csid < 3+5; csid++ {
		many = append(many, header(0, csid, 0, 200, TypeAudio, 1)...)
		many = append(many, payload(128)...) // each left unfinished
	}
	tests := []struct {
		name string
		cfg  ReaderConfig
		b    []byte
		want error
	}{
		{"a chunk size above the cap", ReaderConfig{MaxChunkSize: 4096}, AppendSetChunkSize(nil, 4097), ErrChunkSize},
		{"a chunk size of zero", ReaderConfig{}, AppendSetChunkSize(nil, 0), ErrChunkSize},
		{"a message above the cap", ReaderConfig{MaxMessageSize: 1000}, header(0, 6, 0, 1001, TypeVideo, 1), ErrTooLarge},
		{"too many chunk streams", ReaderConfig{MaxChunkStreams: 4}, many, ErrTooManyCSIDs},
		{"a stream opened by a type-2 header", ReaderConfig{}, header(2, 6, 0, 0, 0, 0), ErrProtocol},
		{"a new header in the middle of a message", ReaderConfig{}, cat(header(0, 6, 0, 300, TypeVideo, 1), payload(128), header(1, 6, 0, 5, TypeVideo, 0)), ErrProtocol},
		{"a truncated Set Chunk Size", ReaderConfig{}, cat(header(0, 2, 0, 2, TypeSetChunkSize, 0), []byte{0, 1}), ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readAll(t, tt.b, tt.cfg); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReaderSaysWhenAnAcknowledgementIsDue(t *testing.T) {
	b := AppendWindowAckSize(nil, 1000)
	for range 3 {
		b = AppendMessage(b, DefaultChunkSize, &Message{CSID: 6, Type: TypeVideo, Payload: payload(400)})
	}
	r := NewReader(bytes.NewReader(b), ReaderConfig{})
	var acks []uint32
	for {
		if _, err := r.ReadMessage(); err != nil {
			break
		}
		if seq, due := r.AckDue(); due {
			acks = append(acks, seq)
		}
	}
	// 16 bytes of window message, then 3 × (12 + 400 + 3 continuation headers).
	if len(acks) != 1 || acks[0] != 16+3*415 {
		t.Fatalf("acks %v", acks)
	}
}

func TestControlMessagesCarryTheirValues(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		typ  uint8
		want []byte
	}{
		{"set chunk size", AppendSetChunkSize(nil, 60000), TypeSetChunkSize, []byte{0, 0, 0xea, 0x60}},
		{"window ack size", AppendWindowAckSize(nil, 2500000), TypeWindowAckSize, []byte{0, 0x26, 0x25, 0xa0}},
		{"set peer bandwidth", AppendSetPeerBandwidth(nil, 2500000, LimitDynamic), TypeSetPeerBandwidth, []byte{0, 0x26, 0x25, 0xa0, 2}},
		{"ack", AppendAck(nil, 7), TypeAck, []byte{0, 0, 0, 7}},
		{"stream begin", AppendStreamBegin(nil, 1), TypeUserControl, []byte{0, 0, 0, 0, 0, 1}},
		{"stream eof", AppendStreamEOF(nil, 1), TypeUserControl, []byte{0, 1, 0, 0, 0, 1}},
		{"ping request", AppendPingRequest(nil, 9), TypeUserControl, []byte{0, 6, 0, 0, 0, 9}},
		{"ping response", AppendPingResponse(nil, 9), TypeUserControl, []byte{0, 7, 0, 0, 0, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := readAll(t, tt.b, ReaderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if m.CSID != CSIDProtocolControl || m.StreamID != 0 || m.Type != tt.typ || !bytes.Equal(m.Payload, tt.want) {
				t.Fatalf("got %+v", m)
			}
		})
	}
	if ev, data, ok := ParseUserControl([]byte{0, 6, 0, 0, 1, 0}); !ok || ev != EventPingRequest || data != 256 {
		t.Fatalf("ParseUserControl: %d %d %v", ev, data, ok)
	}
	if _, _, ok := ParseUserControl([]byte{0}); ok {
		t.Fatal("a 1-byte user control parsed")
	}
}

func FuzzChunkReader(f *testing.F) {
	f.Add(AppendMessage(AppendSetChunkSize(nil, 4096), 4096, &Message{CSID: 6, Type: TypeVideo, Timestamp: 0x1000000, Payload: payload(5000)}))
	f.Add(cat(header(0, 4, 1000, 2, TypeAudio, 1), []byte{1, 1}, header(1, 4, 20, 3, TypeAudio, 0), []byte{2, 2, 2}, header(3, 4, 0, 0, 0, 0), []byte{4, 4, 4}))
	f.Add(cat(header(0, 6, 0x1000000, 300, TypeVideo, 1), payload(128), header(3, 6, 0, 0, 0, 0), payload(172)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var held atomic.Int64
		cfg := ReaderConfig{MaxChunkSize: 1 << 12, MaxMessageSize: 1 << 16, MaxBuffered: 3 << 15, MaxChunkStreams: 8, Buffered: &held}
		r := NewReader(bytes.NewReader(b), cfg)
		defer func() {
			r.Release()
			if held.Load() != 0 {
				t.Fatalf("%d bytes counted after Release", held.Load())
			}
		}()
		for {
			m, err := r.ReadMessage()
			if n := r.Buffered(); n > cfg.MaxBuffered || int64(n) != held.Load() {
				t.Fatalf("%d bytes buffered (counted %d), limit %d", n, held.Load(), cfg.MaxBuffered)
			}
			if err != nil {
				return
			}
			if len(m.Payload) > cfg.MaxMessageSize {
				t.Fatalf("a message of %d bytes got through", len(m.Payload))
			}
			r.AckDue()
		}
	})
}
