package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"testing"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/mediatest"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/client"
)

// avcSH is an AVC sequence header around an x264 SPS of 640x360 High 3.0.
var avcSH = func() []byte {
	sps, _ := hex.DecodeString("6764001eacd940a02ff970110000030001000003003c0f162d96")
	b := []byte{0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xff, 0xe1, 0, byte(len(sps))}
	b = append(b, sps...)
	return append(b, 1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb)
}()

var aacSH = []byte{0xaf, 0, 0x12, 0x10}

// frame makes a video frame of n bytes whose payload encodes its index.
func frame(i, n int, key bool) []byte {
	p := make([]byte, n)
	p[0], p[1] = 0x27, 1
	if key {
		p[0] = 0x17
	}
	p[5], p[6] = byte(i>>8), byte(i)
	return p
}

func dial(t testing.TB, url string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// goPublish connects and publishes the headers of a synthetic stream.
func goPublish(t testing.TB, srv *testServer, name string) *client.Conn {
	t.Helper()
	c := dial(t, srv.url("live"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, name); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		c.WriteMetadata(amf0.ECMAArray{{Key: "width", Value: 640.0}, {Key: "height", Value: 360.0}}),
		c.WriteMessage(chunk.TypeVideo, 0, avcSH),
		c.WriteMessage(chunk.TypeAudio, 0, aacSH),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func goPlay(t testing.TB, srv *testServer, name string) *client.Conn {
	t.Helper()
	c := dial(t, srv.url("live"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Play(ctx, name); err != nil {
		t.Fatal(err)
	}
	return c
}

// readMedia reads until a message of type typ (skipping the others),
// with a deadline.
func readMedia(t testing.TB, c *client.Conn, typ uint8) client.Message {
	t.Helper()
	type result struct {
		m   client.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		for {
			m, err := c.ReadMessage()
			if err != nil || m.Type == typ && m.Status == "" {
				m.Payload = bytes.Clone(m.Payload)
				done <- result{m, err}
				return
			}
		}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.m
	case <-time.After(5 * time.Second):
		c.Close()
		t.Fatalf("no message of type %d within 5 s", typ)
		return client.Message{}
	}
}

func TestTheGoClientPublishesAndPlays(t *testing.T) {
	srv := startServer(t, Settings{Vhosts: map[string]VhostSettings{media.DefaultVhost: {Enabled: true, GopCache: true}}})
	pub := goPublish(t, srv, "go")
	player := goPlay(t, srv, "go")

	access := readMedia(t, player, chunk.TypeDataAMF0)
	if vals, err := amf0.Decode(access.Payload); err != nil || vals[0] != "|RtmpSampleAccess" {
		t.Fatalf("first data message %v %v", vals, err)
	}
	readMedia(t, player, chunk.TypeDataAMF0) // NetStream.Data.Start
	meta := readMedia(t, player, chunk.TypeDataAMF0)
	if vals, err := amf0.Decode(meta.Payload); err != nil || vals[0] != "onMetaData" {
		t.Fatalf("metadata %v %v", vals, err)
	}
	if m := readMedia(t, player, chunk.TypeVideo); !bytes.Equal(m.Payload, avcSH) {
		t.Fatalf("video sequence header %x", m.Payload)
	}
	if m := readMedia(t, player, chunk.TypeAudio); !bytes.Equal(m.Payload, aacSH) {
		t.Fatalf("audio sequence header %x", m.Payload)
	}
	for i := range 30 {
		want := frame(i, 5000+i*100, i == 0)
		if err := pub.WriteMessage(chunk.TypeVideo, uint32(i*33), want); err != nil {
			t.Fatal(err)
		}
		m := readMedia(t, player, chunk.TypeVideo)
		if m.Timestamp != uint32(i*33) || !bytes.Equal(m.Payload, want) {
			t.Fatalf("frame %d: ts %d, %d bytes", i, m.Timestamp, len(m.Payload))
		}
	}
	if n := len(mediatest.ClientsOf(srv.reg, media.FMLEPublish)); n != 1 {
		t.Fatalf("%d fmle publishers", n)
	}
}

func TestASecondPublisherIsRefusedWithBadName(t *testing.T) {
	srv := startServer(t, Settings{})
	goPublish(t, srv, "busy")
	c := dial(t, srv.url("live"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Publish(ctx, "busy")
	var se *client.StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" {
		t.Fatalf("got %v", err)
	}
	// ffmpeg is refused as well and gives up.
	ff := mediatest.FFmpegPublish(t, srv.url("live/busy"), "-t", "5")
	ff.WaitExit(t, 10*time.Second)
	if ff.Err() == nil {
		t.Fatal("a second ffmpeg publisher exited cleanly")
	}
	mediatest.Eventually(t, 5*time.Second, "the refused connections gone", func() bool { return srv.Connections() == 1 })
}

func TestPlayersArePromptedOnUnpublishAndFollowARepublish(t *testing.T) {
	srv := startServer(t, Settings{Vhosts: map[string]VhostSettings{media.DefaultVhost: {Enabled: true}}})
	player := goPlay(t, srv, "re")
	pub := goPublish(t, srv, "re")
	pub.WriteMessage(chunk.TypeVideo, 90000, frame(0, 100, true))
	readMedia(t, player, chunk.TypeVideo) // the sequence header
	if m := readMedia(t, player, chunk.TypeVideo); m.Payload[1] != 1 || m.Timestamp != 90000 {
		t.Fatalf("first frame at %d", m.Timestamp)
	}
	pub.Close()
	m, err := player.ReadMessage()
	for err == nil && m.Status == "" {
		m, err = player.ReadMessage()
	}
	if err != nil || m.Status != "NetStream.Play.UnpublishNotify" {
		t.Fatalf("status %q, %v", m.Status, err)
	}
	mediatest.Eventually(t, 5*time.Second, "the publisher gone", func() bool { return len(mediatest.ClientsOf(srv.reg, media.FMLEPublish)) == 0 })

	pub = goPublish(t, srv, "re") // its timestamps restart at 0
	if m := readMedia(t, player, chunk.TypeVideo); !bytes.Equal(m.Payload, avcSH) {
		t.Fatal("the new sequence header did not come first")
	}
	pub.WriteMessage(chunk.TypeVideo, 0, frame(1, 100, true))
	if m := readMedia(t, player, chunk.TypeVideo); m.Timestamp < 90000 {
		t.Fatalf("timestamp went back to %d", m.Timestamp)
	}
}

func TestAStalledPlayerDoesNotDelayOthersAndIsCutOff(t *testing.T) {
	srv := startServerWithHub(t, Settings{
		Vhosts: map[string]VhostSettings{media.DefaultVhost: {Enabled: true}},
		Limits: Limits{WriteTimeout: 10 * time.Second},
	}, hub.Options{QueueBytes: 1 << 20})
	pub := goPublish(t, srv, "fast")
	stalled := goPlay(t, srv, "fast")
	stalled.SetReadBuffer(4096)
	stalledID := mediatest.ClientsOf(srv.reg, media.RTMPPlay)[0].ID
	player := goPlay(t, srv, "fast")
	// 30 MB at 15 MB/s: far beyond socket buffers and the queue, at a
	// rate the healthy player keeps up with.
	const frames, size, perTick = 600, 50000, 3

	got := make(chan int, 1)
	go func() {
		n := 0
		for n < frames {
			m, err := player.ReadMessage()
			if err != nil {
				break
			}
			if m.Type == chunk.TypeVideo && len(m.Payload) == size {
				n++
			}
		}
		got <- n
	}()
	started := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := range frames {
		if i%perTick == 0 {
			<-tick.C
		}
		if err := pub.WriteMessage(chunk.TypeVideo, uint32(i*33), frame(i, size, i%30 == 0)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-got:
		if n != frames {
			t.Fatalf("the healthy player got %d of %d frames", n, frames)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the healthy player was held up")
	}
	t.Logf("%d MB to the healthy player in %v", frames*size>>20, time.Since(started))
	// Its bound is its socket buffers plus twice QueueBytes: far less
	// than the 30 MB sent, so it is gone by now (give teardown a moment).
	mediatest.Eventually(t, time.Second, "the stalled player cut off", func() bool {
		for _, c := range srv.reg.Snapshot().Clients {
			if c.ID == stalledID {
				return false
			}
		}
		return true
	})
	if s := srv.reg.Sample(); s.ClientsFailed != 1 {
		t.Fatalf("%d clients failed, want the stalled player alone", s.ClientsFailed)
	}
}

func TestMaxConnectionsRefusesBeyondTheLimit(t *testing.T) {
	srv := startServer(t, Settings{MaxConnections: 2})
	dial(t, srv.url("live"))
	dial(t, srv.url("live"))
	nc, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the third connection was served: %v", err)
	}
}
