package chunk

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
)

// messageStart is the first n bytes of a message on csid announced as
// length bytes long, in chunks of chunkSize.
func messageStart(csid byte, typ uint8, length, n, chunkSize int) []byte {
	b := header(0, csid, 0, length, typ, 1)
	for sent := 0; sent < n; {
		if sent > 0 {
			b = append(b, header(3, csid, 0, 0, 0, 0)...)
		}
		k := min(chunkSize, n-sent)
		b = append(b, payload(k)...)
		sent += k
	}
	return b
}

func TestAHeaderCostsNothingUntilItsBytesArrive(t *testing.T) {
	for _, arrived := range []int{0, 1, 100 << 10, 1 << 20} {
		b := cat(AppendSetChunkSize(nil, 64<<10), messageStart(6, TypeVideo, 8<<20, arrived, 64<<10))
		var held atomic.Int64
		r := NewReader(bytes.NewReader(b), ReaderConfig{Buffered: &held})
		if _, err := r.ReadMessage(); err != nil { // Set Chunk Size
			t.Fatal(err)
		}
		if _, err := r.ReadMessage(); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%d bytes arrived: %v", arrived, err)
		}
		// Doubling from minGrow once bytes come: never more than twice
		// what arrived (and the Set Chunk Size's 4 bytes).
		limit := 4
		if arrived > 0 {
			limit += max(2*arrived, minGrow)
		}
		if got := r.Buffered(); got > limit || int64(got) != held.Load() {
			t.Fatalf("%d bytes of an 8 MiB message arrived: %d buffered (counter %d)", arrived, got, held.Load())
		}
	}
}

func TestTheBytesBufferedAcrossChunkStreamsAreBounded(t *testing.T) {
	cfg := ReaderConfig{MaxMessageSize: 8 << 10, MaxBuffered: 12 << 10}
	t.Run("partial messages on several chunk streams", func(t *testing.T) {
		// Two messages of 8 KiB, each under the message limit, each
		// 6 KiB in: 12 KiB of buffers, then a third needs more.
		var b []byte
		for csid := byte(3); csid < 6; csid++ {
			b = append(b, messageStart(csid, TypeCommandAMF0, 8<<10, 6<<10, 128)...)
		}
		var held atomic.Int64
		c := cfg
		c.Buffered = &held
		r := NewReader(bytes.NewReader(b), c)
		_, err := r.ReadMessage()
		if !errors.Is(err, ErrBuffered) {
			t.Fatalf("got %v, want ErrBuffered", err)
		}
		if r.Buffered() > cfg.MaxBuffered || held.Load() != int64(r.Buffered()) {
			t.Fatalf("%d bytes buffered (counter %d), limit %d", r.Buffered(), held.Load(), cfg.MaxBuffered)
		}
		r.Release()
		if r.Buffered() != 0 || held.Load() != 0 {
			t.Fatalf("after Release: %d buffered, counter %d", r.Buffered(), held.Load())
		}
	})
	t.Run("whole messages on many chunk streams", func(t *testing.T) {
		// Buffers kept for reuse make way for a message that needs room.
		var b []byte
		for csid := uint32(3); csid < 40; csid++ {
			b = AppendMessage(b, 128, &Message{CSID: csid, Type: TypeAudio, Payload: payload(int(5000 + csid))})
		}
		r := NewReader(bytes.NewReader(b), cfg)
		for csid := uint32(3); csid < 40; csid++ {
			m, err := r.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if m.CSID != csid || !bytes.Equal(m.Payload, payload(int(5000+csid))) {
				t.Fatalf("message on %d: %d bytes", m.CSID, len(m.Payload))
			}
			if r.Buffered() > cfg.MaxBuffered {
				t.Fatalf("%d bytes buffered, limit %d", r.Buffered(), cfg.MaxBuffered)
			}
		}
	})
	t.Run("a message as large as the limit allows", func(t *testing.T) {
		p := payload(8 << 10)
		b := cat(messageStart(3, TypeAudio, 4<<10, 2<<10, 128), AppendMessage(nil, 128, &Message{CSID: 6, Type: TypeVideo, Payload: p}))
		// 4 KiB held by the partial message, 8 KiB for this one: exactly
		// the limit.
		r := NewReader(bytes.NewReader(b), ReaderConfig{MaxMessageSize: 8 << 10, MaxBuffered: 12 << 10})
		m, err := r.ReadMessage()
		if err != nil || !bytes.Equal(m.Payload, p) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSetLimitsAppliesToTheMessagesThatStartAfterIt(t *testing.T) {
	big := AppendMessage(nil, 4096, &Message{CSID: 6, Type: TypeVideo, Payload: payload(100 << 10)})
	// A type-3 chunk starting a message of the same length as the last.
	again := cat(header(3, 6, 0, 0, 0, 0), payload(4096))
	b := cat(AppendSetChunkSize(nil, 4096), big, big)
	r := NewReader(bytes.NewReader(cat(b, again)), ReaderConfig{MaxMessageSize: 1 << 10})
	if _, err := r.ReadMessage(); err != nil { // Set Chunk Size
		t.Fatal(err)
	}
	r.SetLimits(128<<10, 0)
	for range 2 {
		if m, err := r.ReadMessage(); err != nil || len(m.Payload) != 100<<10 {
			t.Fatalf("a 100 KiB message after raising the limit: %v", err)
		}
	}
	r.SetLimits(1<<10, 2<<10)
	if r.Buffered() > 2<<10 {
		t.Fatalf("%d bytes kept after lowering the limits", r.Buffered())
	}
	if _, err := r.ReadMessage(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a type-3 chunk repeating a length above the new limit: %v", err)
	}
}
