package fleet

import "time"

// Rates come from cumulative counters sampled about once a second. A
// worker reports every counter it has in one Samples message, so the
// sample times are the worker's (sampleClock), and each client, stream and
// the worker's total keep only their counters at those times
// (counterRing). The oldest sample within each span is found once per
// message, so a rate costs two subtractions per counter whatever the span,
// and a client's history is 256 bytes without pointers for the garbage
// collector to follow: this is what 100,000 clients cost.

// rateHistory is how many samples are kept: enough for SRS's 30-second
// averages at one sample a second.
const rateHistory = 32

// Kbps is a pair of rates in kbit/s.
type Kbps struct {
	Recv, Send int
}

// sampleClock is the times of a worker's latest samples. Samples are
// numbered from 1; at one a second, a uint32 lasts 136 years.
type sampleClock struct {
	atMs [rateHistory]int64 // unix ms of sample seq, at seq % rateHistory
	seq  uint32             // samples so far; 0 before the first
	// averageFrom and currentFrom are the oldest samples within
	// AverageSpan and CurrentSpan of the newest.
	averageFrom, currentFrom uint32
}

// advance records a sample taken at at. It refuses one not after the
// newest (a duplicate or reordered message): counters move, rates keep.
func (c *sampleClock) advance(at time.Time) bool {
	ms := at.UnixMilli()
	if c.seq > 0 && ms <= c.atMs[c.seq%rateHistory] {
		return false
	}
	c.seq++
	c.atMs[c.seq%rateHistory] = ms
	c.averageFrom = c.oldestWithin(AverageSpan)
	c.currentFrom = c.oldestWithin(CurrentSpan)
	return true
}

// oldestWithin returns the oldest sample held that is at most span older
// than the newest.
func (c *sampleClock) oldestWithin(span time.Duration) uint32 {
	newest := c.atMs[c.seq%rateHistory]
	from := c.seq
	for from > 1 && c.seq-(from-1) < rateHistory && newest-c.atMs[(from-1)%rateHistory] <= span.Milliseconds() {
		from--
	}
	return from
}

// counterRing is one thing's counters at its worker's latest samples,
// each kept in a T. Rates need only differences between samples at most
// rateHistory apart, and the difference of two uint32 counters is exact
// modulo 2^32: it wraps only past 4 GiB in 31 s (1.1 Gbit/s), which no
// RTMP or WebRTC client comes near. So clients keep uint32 (half the
// memory of the biggest table); streams and worker totals, which sum
// many clients, keep uint64. Counters are cumulative: a worker never
// reports one smaller than before within a boot.
type counterRing[T uint32 | uint64] struct {
	send, recv [rateHistory]T
	// since and last are the first and the latest sample recorded, with
	// none missed in between (0: none yet).
	since, last uint32
}

type (
	clientRing = counterRing[uint32]
	totalRing  = counterRing[uint64]
)

// record stores the counters of the clock's newest sample. A thing that
// missed a sample (it was not in the message) starts its history again.
func (r *counterRing[T]) record(c *sampleClock, v Counters) {
	if r.last == 0 || r.last+1 != c.seq {
		r.since = c.seq
	}
	r.send[c.seq%rateHistory], r.recv[c.seq%rateHistory] = T(v.SendBytes), T(v.RecvBytes)
	r.last = c.seq
}

// traffic is v with the rates the history gives: averaged over
// AverageSpan and over CurrentSpan, or over the history held when it is
// shorter (a client younger than the span). Rates are zero for a thing
// absent from the newest sample.
func (r *counterRing[T]) traffic(c *sampleClock, v Counters) Traffic {
	if r.last != c.seq {
		return Traffic{Counters: v}
	}
	return Traffic{Counters: v, Rates: Rates{Average: r.rate(c, c.averageFrom), Current: r.rate(c, c.currentFrom)}}
}

func (r *counterRing[T]) rate(c *sampleClock, from uint32) Kbps {
	from = max(from, r.since)
	if from >= c.seq {
		return Kbps{}
	}
	ms := float64(c.atMs[c.seq%rateHistory] - c.atMs[from%rateHistory])
	n, o := c.seq%rateHistory, from%rateHistory
	kbps := func(bytes T) int { return int(float64(bytes) * 8 / ms) } // bytes/ms * 8 = kbit/s
	return Kbps{Recv: kbps(r.recv[n] - r.recv[o]), Send: kbps(r.send[n] - r.send[o])}
}
