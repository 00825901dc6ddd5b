package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// record is a logged line: when, its count and its "remote" attribute.
type record struct {
	at     time.Time
	count  int64
	remote string
}

// recorder is a slog.Handler keeping the lines.
type recorder struct {
	mu    sync.Mutex
	lines []record
}

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *recorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recorder) WithGroup(string) slog.Handler            { return h }
func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	rec := record{at: r.Time}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "count":
			rec.count = a.Value.Int64()
		case "remote":
			rec.remote = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, rec)
	return nil
}

func (h *recorder) take() []record {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.lines
	h.lines = nil
	return l
}

func TestAFloodIsOneLineAtOnceAndOnePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &recorder{}
		l := New(slog.New(h), slog.LevelWarn, "refusing connections", 10*time.Second)
		defer l.Close()
		start := time.Now()

		// 1,000 events in 25 s: the first at once, then a line at 10 s
		// and at 20 s with what came in between.
		for i := range 1000 {
			l.Log("remote", string(rune('a'+i%26)))
			time.Sleep(25 * time.Millisecond)
		}
		synctest.Wait()
		lines := h.take()
		if len(lines) != 3 {
			t.Fatalf("%d lines, want 3: %+v", len(lines), lines)
		}
		if lines[0].count != 1 || lines[0].remote != "a" || !lines[0].at.Equal(start) {
			t.Fatalf("first line %+v", lines[0])
		}
		for i, want := range []time.Duration{10 * time.Second, 20 * time.Second} {
			if got := lines[1+i].at.Sub(start); got != want {
				t.Fatalf("line %d at %v, want %v", 1+i, got, want)
			}
		}
		// The last interval is still open: its events come at 30 s.
		time.Sleep(30*time.Second - time.Since(start))
		synctest.Wait()
		lines = append(lines, h.take()...)
		var total int64
		for _, r := range lines {
			total += r.count
		}
		if len(lines) != 4 || total != 1000 {
			t.Fatalf("%d lines counting %d events, want 4 lines counting 1000", len(lines), total)
		}

		// An interval without events closes it: the next event is logged
		// when it comes.
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if extra := h.take(); len(extra) != 0 {
			t.Fatalf("lines without events: %+v", extra)
		}
		l.Log("remote", "late")
		if lines := h.take(); len(lines) != 1 || lines[0].remote != "late" || lines[0].count != 1 {
			t.Fatalf("a lone event after a quiet interval: %+v", lines)
		}
	})
}

func TestCloseLogsWhatWasCountedAndStopsTheTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &recorder{}
		l := New(slog.New(h), slog.LevelInfo, "failed", time.Minute)
		for range 5 {
			l.Log("remote", "x")
		}
		l.Close()
		l.Close()
		lines := h.take()
		if len(lines) != 2 || lines[0].count != 1 || lines[1].count != 4 {
			t.Fatalf("lines %+v", lines)
		}
		// No timer is left (synctest.Test would fail on a goroutine that
		// outlives the bubble) and events after Close are each logged.
		time.Sleep(time.Hour)
		l.Log("remote", "y")
		l.Log("remote", "z")
		if lines := h.take(); len(lines) != 2 {
			t.Fatalf("%d lines after Close, want 2", len(lines))
		}
	})
}

func TestConcurrentEventsAreAllCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &recorder{}
		l := New(slog.New(h), slog.LevelInfo, "failed", time.Second)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					l.Log()
					time.Sleep(7 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		l.Close()
		var total int64
		lines := h.take()
		for _, r := range lines {
			total += r.count
		}
		if total != 800 || len(lines) > 3 {
			t.Fatalf("%d lines counting %d events, want at most 3 counting 800", len(lines), total)
		}
	})
}
