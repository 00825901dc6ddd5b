package main

import (
	"math"
	"time"
)

// The delivery delay a write policy adds (merged writes hold messages back;
// realtime pairs them) is measured per message as its arrival time minus
// its timestamp. The publisher paces messages by their timestamps, so for
// one player that difference is constant but for the delay added on the
// way: its smallest value over the window is the best case, and each
// message's delay is how much it exceeds it.

// delayBuckets is a histogram's range in milliseconds (1 ms buckets),
// centred on the player's first measured message, so that its delay can
// be up to half of it below or above.
const delayBuckets = 4096

// delays is one player's histogram of arrival minus timestamp, in ms from
// base. Its goroutine fills it; the report reads it once the player ended.
type delays struct {
	counts []uint32
	base   int64
}

// record adds a message of timestamp ts that arrived at (ms on the run's
// clock).
func (d *delays) record(at int64, ts uint32) {
	v := at - int64(ts)
	if d.counts == nil {
		d.counts = make([]uint32, delayBuckets)
		d.base = v - delayBuckets/2
	}
	d.counts[min(max(v-d.base, 0), delayBuckets-1)]++
}

// Delay summarises the delays of every player's messages over the window,
// in ms: how much later than its player's best message each arrived.
type Delay struct {
	Messages uint64  `json:"messages"`
	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	P99      float64 `json:"p99"`
	Max      float64 `json:"max"`
}

func delayFigures(players []*player) Delay {
	var all [delayBuckets]uint64
	var out Delay
	for _, p := range players {
		c := p.delays.counts
		first := 0
		for first < len(c) && c[first] == 0 {
			first++
		}
		for i := first; i < len(c); i++ {
			all[i-first] += uint64(c[i])
			out.Messages += uint64(c[i])
		}
	}
	if out.Messages == 0 {
		return out
	}
	quantile := func(q float64) float64 {
		rank := uint64(math.Ceil(q * float64(out.Messages)))
		var seen uint64
		for i, n := range all {
			if seen += n; seen >= max(rank, 1) {
				return float64(i)
			}
		}
		return float64(delayBuckets - 1)
	}
	out.P50, out.P90, out.P99, out.Max = quantile(0.5), quantile(0.9), quantile(0.99), quantile(1)
	return out
}

// sinceMillis is ms on the run's clock (monotonic).
func sinceMillis(epoch time.Time) int64 { return time.Since(epoch).Milliseconds() }
