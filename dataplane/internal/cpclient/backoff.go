package cpclient

import (
	"math/rand/v2"
	"time"
)

// backoffTimer yields exponentially growing waits, capped, with full jitter
// over the upper half so that a fleet of workers does not reconnect in step.
type backoffTimer struct {
	base, max, cur time.Duration
}

func newBackoff(base, max time.Duration) *backoffTimer {
	return &backoffTimer{base: base, max: max, cur: base}
}

func (b *backoffTimer) next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return d/2 + rand.N(d/2+1)
}

func (b *backoffTimer) reset() { b.cur = b.base }
