package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// fakeFleet is the fake workers and their connections.
type fakeFleet struct {
	workers       []*fakeWorker
	conns         []*grpc.ClientConn
	snapshotBytes int
	cancel        context.CancelFunc
	wg            sync.WaitGroup
	restarts      atomic.Int64 // sessions that ended and were reopened
}

// startFakeFleet connects the workers, one TCP connection each as real
// workers have, their reports spread over the second.
func startFakeFleet(ctx context.Context, addr, token string, workers, perWorker, streams int, out *reporter) (*fakeFleet, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := &fakeFleet{cancel: cancel}
	rng := rand.New(rand.NewPCG(1, 2)) // the same fleet every run
	taken := map[string]bool{}
	for i := range workers {
		f.workers = append(f.workers, newFakeWorker(fmt.Sprintf("fake-%03d", i), perWorker, streams, rng, taken))
	}
	f.snapshotBytes = proto.Size(f.workers[0].snapshotMessage())
	for i, w := range f.workers {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			f.stop()
			return nil, err
		}
		f.conns = append(f.conns, conn)
		phase := time.Duration(i) * time.Second / time.Duration(workers)
		f.wg.Go(func() {
			// Like a real worker, reopen a session that failed.
			for {
				err := w.run(ctx, conn, token, phase)
				if ctx.Err() != nil {
					return
				}
				f.restarts.Add(1)
				out.logf("fake worker %d: session ended (%v), reopening it", i, err)
				if sleep(ctx, 100*time.Millisecond) != nil {
					return
				}
			}
		})
	}
	return f, nil
}

// victims picks n players to kick, spread over the workers.
func (f *fakeFleet) victims(n, streams int) []string {
	var out []string
	for k := range n {
		w := f.workers[k%len(f.workers)]
		if i := streams + k/len(f.workers); i < len(w.ids) {
			out = append(out, w.ids[i])
		}
	}
	return out
}

func (f *fakeFleet) stop() {
	f.cancel()
	f.wg.Wait()
	for _, c := range f.conns {
		c.Close()
	}
}

// sentBytes are the marshalled bytes the fleet sent, by kind.
type sentBytes struct{ samples, stats, other int64 }

func (s sentBytes) total() int64 { return s.samples + s.stats + s.other }

func (f *fakeFleet) bytes() sentBytes {
	var s sentBytes
	for _, w := range f.workers {
		s.samples += w.sampleBytes.Load()
		s.stats += w.statsBytes.Load()
		s.other += w.otherBytes.Load()
	}
	return s
}
