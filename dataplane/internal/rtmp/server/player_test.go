package server

import (
	"testing"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/mediatest"
	"time"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

// A player that stops reading fills its socket: its writer hands over to
// a goroutine that waits for the socket, so the publisher goes on, and the
// player catches up when it reads again, losing nothing.
func TestAPlayerThatPausesCatchesUpWithEveryFrameInOrder(t *testing.T) {
	srv := startServerWithHub(t, Settings{
		Vhosts: map[string]VhostSettings{media.DefaultVhost: {Enabled: true}},
		Limits: Limits{WriteTimeout: 10 * time.Second},
	}, hub.Options{QueueBytes: 64 << 20})
	pub := goPublish(t, srv, "pause")
	player := goPlay(t, srv, "pause")

	// 40 MB: far beyond the socket buffers (a few MB each way), within the
	// queue.
	const frames, size = 800, 50000
	for i := range frames {
		if err := pub.WriteMessage(chunk.TypeVideo, uint32(i*33), frame(i, size, i%30 == 0)); err != nil {
			t.Fatal(err)
		}
	}
	mediatest.Eventually(t, 5*time.Second, "the publisher's frames all taken in", func() bool {
		smp := srv.reg.Sample()
		return len(smp.Streams) == 1 && smp.Streams[0].RecvBytes > frames*size
	})
	readMedia(t, player, chunk.TypeVideo) // the sequence header
	for i := range frames {
		m := readMedia(t, player, chunk.TypeVideo)
		if len(m.Payload) != size || int(m.Payload[5])<<8|int(m.Payload[6]) != i {
			t.Fatalf("frame %d: %d bytes, index %d", i, len(m.Payload), int(m.Payload[5])<<8|int(m.Payload[6]))
		}
	}
}
