package egress

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// byteForm encodes a packet as its payload.
type byteForm struct{}

func (byteForm) AppendPacket(dst []byte, p *hub.Packet) []byte { return append(dst, p.Payload...) }

// framer frames each batch between '<' and '>' and ends the stream at
// the unpublish notice.
type framer struct{}

func (framer) Frame(iov [][]byte, pkts []*hub.Packet) ([][]byte, bool) {
	iov = append(iov, []byte("<"))
	for _, p := range pkts {
		if p.Kind == hub.KindUnpublished {
			return append(iov, []byte(">end")), true
		}
		iov = append(iov, p.Encoded(byteForm{}))
	}
	return append(iov, []byte(">")), false
}

var key = media.StreamKey{Vhost: media.DefaultVhost, App: "live", Name: "egress"}

// pipeline is a hub stream with one reader written to a TCP connection
// whose other end the test reads.
type pipeline struct {
	pub    *hub.Publisher
	w      *Writer
	c      *Conn
	peer   net.Conn
	counts media.Counters
}

func newPipeline(t *testing.T, ho hub.Options) *pipeline {
	t.Helper()
	h := hub.New(registry.New(nil), ho)
	t.Cleanup(h.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	p := &pipeline{peer: client}
	p.c = NewConn(server, &p.counts, 10*time.Second)
	p.w = NewWriter(p.c, framer{}, slog.New(slog.DiscardHandler))
	if p.pub, err = h.Publish(key, "pub", "", hub.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := h.Subscribe(key, "", hub.ReaderOptions{MWLatency: time.Hour, Flush: p.w.Flush, Stalled: func() { p.c.Close() }})
	if err != nil {
		t.Fatal(err)
	}
	p.w.Start(r)
	t.Cleanup(p.w.Close)
	return p
}

func frame(ms int, key bool, payload []byte) *hub.Packet {
	d := time.Duration(ms) * time.Millisecond
	return &hub.Packet{Track: hub.TrackVideo, Codec: hub.CodecH264, DTS: d, PTS: d, Keyframe: key, Payload: payload}
}

func TestBatchesGoOutFramedAndTheStreamEndClosesTheConnection(t *testing.T) {
	p := newPipeline(t, hub.Options{})
	// Queued together, flushed together: one batch (merged writes wait
	// for the hour otherwise).
	p.pub.Queue(frame(0, true, []byte("a")))
	p.pub.Queue(frame(33, false, []byte("b")))
	p.pub.Close() // the notice makes the batch due
	got, err := io.ReadAll(p.peer)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "<ab>end" && string(got) != "<ab><>end" {
		t.Fatalf("read %q", got)
	}
	if !errors.Is(p.c.WriteErr(), ErrEnded) {
		t.Fatalf("write error %v, want the end of the stream", p.c.WriteErr())
	}
	if n := p.counts.SendBytes.Load(); n != uint64(len(got)) {
		t.Fatalf("counted %d bytes, sent %d", n, len(got))
	}
}

// A reader whose socket is full hands over to a goroutine that waits for
// it: the publisher never blocks, and everything arrives in order once
// the peer reads.
func TestAFullSocketHandsTheWritingToAWaitingGoroutine(t *testing.T) {
	p := newPipeline(t, hub.Options{QueueBytes: 64 << 20})
	payload := bytes.Repeat([]byte("x"), 1<<20)
	const frames = 16 // far beyond the socket buffers
	for i := range frames {
		p.pub.Write(frame(i*1000, i == 0, payload)) // 1 MiB: due at once
	}
	p.pub.Close()
	n, err := io.Copy(io.Discard, p.peer)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(frames*len(payload) + len("<>end")); n < want {
		t.Fatalf("read %d bytes, want at least %d", n, want)
	}
}
