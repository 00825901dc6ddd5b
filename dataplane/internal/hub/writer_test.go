package hub

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestOneTimerFlushesTheMergedBatchesOfEveryReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, Options{})
		p := startPublishing(t, h, PublishOptions{})
		defer p.Close()
		short := subscribe(h, "", ReaderOptions{MWLatency: 50 * time.Millisecond})
		defer short.Close()
		long := subscribe(h, "", ReaderOptions{MWLatency: 150 * time.Millisecond})
		defer long.Close()
		readUntil(t, short, 3)
		readUntil(t, long, 3)
		// Both writers let go, then one frame comes and the publisher pauses.
		for _, r := range []*testReader{short, long} {
			if b, _ := r.Take(nil); len(b) != 0 {
				t.Fatalf("a batch of %d before any frame", len(b))
			}
			r.held = false
		}
		queued := time.Now()
		p.Write(video(0, true))
		for _, c := range []struct {
			r  *testReader
			mw time.Duration
		}{{short, 50 * time.Millisecond}, {long, 150 * time.Millisecond}} {
			if got := next(t, c.r); len(got) != 1 {
				t.Fatalf("a batch of %d", len(got))
			}
			if d := time.Since(queued); d != c.mw {
				t.Fatalf("flushed after %v, want the latency of %v", d, c.mw)
			}
		}
	})
}

func TestABurstIsTakenInBoundedBatchesAndTheQueueShrinksAfterwards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, Options{})
		p := startPublishing(t, h, PublishOptions{GOPCache: true})
		defer p.Close()
		const gop = 3*takeMax + 10
		for i := range gop {
			p.Write(video(i*33, i == 0))
		}
		r := subscribe(h, "", ReaderOptions{})
		defer r.Close()
		var sizes []int
		for n := 0; n < 3+gop; {
			b := next(t, r)
			sizes = append(sizes, len(b))
			n += len(b)
		}
		if len(sizes) != 4 || sizes[0] != takeMax || sizes[3] != 3+gop-3*takeMax {
			t.Fatalf("batches of %v", sizes)
		}
		// Small batches from now on: the ring grown for the GOP shrinks back.
		for i := range 20 {
			p.Write(video((gop+i)*33, false))
			next(t, r)
		}
		r.mu.Lock()
		size := len(r.ring)
		r.mu.Unlock()
		if size != minRing {
			t.Fatalf("a ring of %d after single-packet batches", size)
		}
	})
}

func TestAReaderClosedWhileHeldIsReleasedByItsWriter(t *testing.T) {
	h := newHub(t, Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{})
	r.Close()
	select {
	case <-r.Released():
		t.Fatal("released while its writer holds it")
	default:
	}
	if _, err := r.Take(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Take after Close: %v", err)
	}
	<-r.Released()

	aborted := subscribe(h, "", ReaderOptions{})
	aborted.Abort() // its writer's connection failed
	<-aborted.Released()
	p.Write(video(0, true))
	select {
	case <-aborted.flushes:
		t.Fatal("an aborted reader was flushed")
	default:
	}
	aborted.Close()
}

func TestMessagesQueuedTogetherReachARealtimeReaderInOneBatchAtFlush(t *testing.T) {
	h := newHub(t, Options{})
	p := startPublishing(t, h, PublishOptions{})
	defer p.Close()
	r := subscribe(h, "", ReaderOptions{})
	defer r.Close()
	readUntil(t, r, 3)
	if b, _ := r.Take(nil); len(b) != 0 {
		t.Fatalf("a batch of %d before any frame", len(b))
	}
	r.held = false
	for i := range 3 {
		p.Queue(video(i*33, i == 0))
	}
	select {
	case <-r.flushes:
		t.Fatal("flushed before Flush")
	default:
	}
	p.Flush()
	if got := next(t, r); len(got) != 3 {
		t.Fatalf("a batch of %d, want the 3 queued", len(got))
	}
}
