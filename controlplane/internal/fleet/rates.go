package fleet

import "time"

// rateWindow keeps a second-by-second history of cumulative counters, long
// enough for SRS's 30-second averages.
type rateWindow struct {
	samples [rateHistory]rateSample
	n, head int // head: index of the newest sample
}

type rateSample struct {
	at         time.Time
	send, recv uint64
}

const rateHistory = 32

// Kbps is a pair of rates in kbit/s.
type Kbps struct {
	Recv, Send int
}

func (w *rateWindow) add(at time.Time, c Counters) {
	if w.n > 0 && !at.After(w.samples[w.head].at) {
		return
	}
	w.head = (w.head + 1) % rateHistory
	w.samples[w.head] = rateSample{at: at, send: c.SendBytes, recv: c.RecvBytes}
	if w.n < rateHistory {
		w.n++
	}
}

// over returns the average rate over the last span, or over the history held
// when it is shorter (a client younger than the span).
func (w *rateWindow) over(span time.Duration) Kbps {
	if w.n < 2 {
		return Kbps{}
	}
	newest := w.samples[w.head]
	oldest := newest
	for i := 1; i < w.n; i++ {
		s := w.samples[(w.head-i+rateHistory)%rateHistory]
		if newest.at.Sub(s.at) > span {
			break
		}
		oldest = s
	}
	secs := newest.at.Sub(oldest.at).Seconds()
	if secs <= 0 {
		return Kbps{}
	}
	rate := func(now, then uint64) int {
		if now < then {
			return 0
		}
		return int(float64(now-then) * 8 / 1000 / secs)
	}
	return Kbps{Recv: rate(newest.recv, oldest.recv), Send: rate(newest.send, oldest.send)}
}
