package main

import (
	"context"
	"encoding/hex"
	"sync/atomic"
	"time"

	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/client"
)

// The synthetic stream: an H.264 sequence header (x264 SPS, 640x360 High
// 3.0) and AAC-LC stereo header, then frames whose bytes are zeros. The
// server only parses the headers, so this is what a real encoder costs it.
var (
	avcHeader = func() []byte {
		sps, _ := hex.DecodeString("6764001eacd940a02ff970110000030001000003003c0f162d96")
		b := []byte{0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xff, 0xe1, 0, byte(len(sps))}
		b = append(b, sps...)
		return append(b, 1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb)
	}()
	aacHeader = []byte{0xaf, 0, 0x12, 0x10}
)

const (
	fps        = 30
	gopFrames  = 60 // a keyframe every 2 s
	audioBytes = 256
)

// dialTimeout bounds connecting and starting a publish or play.
const dialTimeout = 5 * time.Second

// watched is a connection whose server-to-client direction is read to the
// end by its own goroutine, which notes when the socket closed.
type watched struct {
	conn        *client.Conn
	msgs, bytes atomic.Int64 // media and data messages, and their payload
	lastRead    atomic.Int64 // unix ns of the latest message
	// unpublished is closed once NetStream.Play.UnpublishNotify came: the
	// stream's publisher left.
	unpublished chan struct{}
	closed      chan struct{}
	// closedAt and err are set before closed is closed.
	closedAt time.Time
	err      error
}

func watch(c *client.Conn) *watched {
	w := &watched{conn: c, unpublished: make(chan struct{}), closed: make(chan struct{})}
	go func() {
		told := false
		for {
			m, err := c.ReadMessage()
			if err != nil {
				w.closedAt, w.err = time.Now(), err
				close(w.closed)
				return
			}
			if m.Status == "NetStream.Play.UnpublishNotify" && !told {
				told = true
				close(w.unpublished)
			}
			w.msgs.Add(1)
			w.bytes.Add(int64(len(m.Payload)))
			w.lastRead.Store(time.Now().UnixNano())
		}
	}()
	return w
}

func (w *watched) isClosed() bool { return isDone(w.closed) }

// isDone reports whether ch is closed.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// play connects to url ("rtmp://host:port/app") and plays name.
func play(ctx context.Context, url, name string) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := c.Play(ctx, name); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// publish connects to url and publishes name; sendHeaders follows.
func publish(ctx context.Context, url, name string) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := c.Publish(ctx, name); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// sendHeaders sends the stream's sequence headers, which a publisher sends
// first.
func sendHeaders(c *client.Conn) error {
	if err := c.WriteMessage(chunk.TypeVideo, 0, avcHeader); err != nil {
		return err
	}
	return c.WriteMessage(chunk.TypeAudio, 0, aacHeader)
}

// feed sends fps video frames a second (kbps in all) and one audio frame
// with each, paced by the clock, until ctx ends or a write fails.
func feed(ctx context.Context, c *client.Conn, kbps int) error {
	size := max(kbps*1000/8/fps, 16)
	frames := [2][]byte{make([]byte, size), make([]byte, size)}
	frames[0][0], frames[0][1] = 0x27, 1 // inter frame, NALU
	frames[1][0], frames[1][1] = 0x17, 1 // keyframe, NALU
	audio := make([]byte, audioBytes)
	audio[0], audio[1] = 0xaf, 1
	tick := time.NewTicker(time.Second / fps)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		ts := uint32(i * 1000 / fps)
		key := 0
		if i%gopFrames == 0 {
			key = 1
		}
		if err := c.WriteMessage(chunk.TypeVideo, ts, frames[key]); err != nil {
			return err
		}
		if err := c.WriteMessage(chunk.TypeAudio, ts, audio); err != nil {
			return err
		}
	}
}
