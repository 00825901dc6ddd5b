package server

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

// BenchmarkFanOutTCP measures the whole path over loopback TCP: a Go
// publisher, the server (ingest, hub, one writev per batch per player) and
// N Go players reading every message. Messages go in bursts the players'
// queues hold, then the benchmark waits for every player to have read
// them. allocs/op are per published message, for the whole process.
func BenchmarkFanOutTCP(b *testing.B) {
	for _, players := range []int{1, 200} {
		b.Run(fmt.Sprintf("players=%d", players), func(b *testing.B) {
			srv := startServer(b, Settings{MaxConnections: 1000, Vhosts: map[string]VhostSettings{media.DefaultVhost: {Enabled: true, GopCache: true}}})
			pub := goPublish(b, srv, "bench")
			const size = 10000
			var delivered, target atomic.Int64
			drained := make(chan struct{}, 1)
			var wg sync.WaitGroup
			for range players {
				c := goPlay(b, srv, "bench")
				wg.Go(func() {
					for {
						m, err := c.ReadMessage()
						if err != nil {
							return
						}
						if m.Type == chunk.TypeVideo && len(m.Payload) == size && delivered.Add(1) == target.Load() {
							drained <- struct{}{}
						}
					}
				})
			}
			const burst = 32
			frames := [2][]byte{frame(0, size, false), frame(0, size, true)}
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				n := min(burst, b.N-i)
				target.Add(int64(n * players))
				for range n {
					key := 0
					if i%60 == 0 {
						key = 1
					}
					if err := pub.WriteMessage(chunk.TypeVideo, uint32(i*33), frames[key]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				<-drained
			}
			b.StopTimer()
			srv.Close()
			wg.Wait()
		})
	}
}
