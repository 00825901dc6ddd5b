// Package ratelog logs events that can come in floods (connections
// refused, handshakes failing) at most once per interval: the first event
// at once, the others counted into one line when the interval ends. So a
// flood costs a line per interval, not a line per event, and a lone event
// is still logged when it happens.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Logger logs one kind of event, at most once per interval. It is safe
// for concurrent use. Its timer runs only while an interval is open, and
// Close stops it.
type Logger struct {
	log      *slog.Logger
	level    slog.Level
	msg      string
	interval time.Duration

	mu sync.Mutex
	// open is set from a line until an interval passes without events:
	// events are then counted, not logged.
	open   bool
	count  int
	last   []any // the attributes of the last event counted
	timer  *time.Timer
	closed bool
}

// New returns a Logger writing msg to log at level, at most once per
// interval.
func New(log *slog.Logger, level slog.Level, msg string, interval time.Duration) *Logger {
	return &Logger{log: log, level: level, msg: msg, interval: interval}
}

// Log records an event with its attributes (slog key-value pairs). With
// no line logged within the interval, it logs one now: msg, args and
// count=1. Otherwise it counts the event: when the interval ends, one line
// tells how many came (count=N, over=interval) with the attributes of the
// last. After Close every event is logged at once.
func (l *Logger) Log(args ...any) {
	l.mu.Lock()
	if l.open {
		l.count++
		l.last = args
		l.mu.Unlock()
		return
	}
	if !l.closed {
		l.open = true
		if l.timer == nil {
			l.timer = time.AfterFunc(l.interval, l.tick)
		} else {
			l.timer.Reset(l.interval)
		}
	}
	l.mu.Unlock()
	l.emit(args, 1, 0)
}

// tick ends an interval: it logs what was counted and keeps the next
// interval open, or closes it if nothing came.
func (l *Logger) tick() {
	l.mu.Lock()
	n, args := l.count, l.last
	l.count, l.last = 0, nil
	if n > 0 && !l.closed {
		l.timer.Reset(l.interval)
	} else {
		l.open = false
	}
	l.mu.Unlock()
	if n > 0 {
		l.emit(args, n, l.interval)
	}
}

// Close logs what was counted and stops the timer. It is idempotent.
func (l *Logger) Close() {
	l.mu.Lock()
	n, args := l.count, l.last
	l.count, l.last, l.open, l.closed = 0, nil, false, true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	if n > 0 {
		l.emit(args, n, l.interval)
	}
}

func (l *Logger) emit(args []any, n int, over time.Duration) {
	attrs := make([]any, 0, len(args)+4)
	attrs = append(append(attrs, args...), "count", n)
	if over > 0 {
		attrs = append(attrs, "over", over)
	}
	l.log.Log(context.Background(), l.level, l.msg, attrs...)
}
