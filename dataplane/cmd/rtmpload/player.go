package main

import (
	"context"
	"math"
	"net/url"
	"sync/atomic"
	"time"

	"tidecast.dev/dataplane/internal/flv"
)

// A player's states.
const (
	dialing int32 = iota
	playing
	failed       // never got to play
	disconnected // lost while playing, before the end
	stopped      // closed by us at the end
)

// player is one RTMP or HTTP-FLV player. Its goroutine writes the counters; the
// sampler reads them.
type player struct {
	state                   atomic.Int32
	bytes, video, audio     atomic.Uint64
	dropped, unpublications atomic.Uint64
	err                     atomic.Pointer[string]

	// Owned by the goroutine: the last video frame's timestamp, and the
	// window's delays.
	lastVideo uint32
	haveLast  bool
	delays    delays
}

// counts is a player's counters at one instant.
type counts struct{ bytes, video, audio, dropped uint64 }

func (p *player) counts() counts {
	return counts{p.bytes.Load(), p.video.Load(), p.audio.Load(), p.dropped.Load()}
}

func (p *player) fail(state int32, err error) {
	s := err.Error()
	p.err.Store(&s)
	p.state.Store(state)
}

// run connects, plays and reads until ctx ends. ready is called once the
// player plays or has failed. stopping tells an expected close from a
// disconnection; while measuring is set, the delays of audio and video
// messages are recorded (on the clock of epoch).
func (p *player) run(ctx context.Context, cfg *loadConfig, u *url.URL, ready func(), stopping, measuring *atomic.Bool, epoch time.Time) {
	dctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout)
	c, err := dialSource(dctx, u, cfg.name)
	cancel()
	if err != nil {
		p.fail(failed, err)
		ready()
		return
	}
	p.state.Store(playing)
	ready()
	defer context.AfterFunc(ctx, func() { c.Close() })()
	defer c.Close()

	interval := 1000 / cfg.fps // ms
	for {
		typ, ts, body, unpublished, err := c.next()
		if err != nil {
			if stopping.Load() || ctx.Err() != nil {
				p.state.Store(stopped)
			} else {
				p.fail(disconnected, err)
			}
			return
		}
		p.bytes.Store(c.received())
		if (typ == flv.TagVideo || typ == flv.TagAudio) && measuring.Load() {
			p.delays.record(sinceMillis(epoch), ts)
		}
		switch {
		case typ == flv.TagVideo:
			p.onVideo(ts, body, interval)
		case typ == flv.TagAudio:
			if !flv.ParseAudio(body).SequenceHeader {
				p.audio.Add(1)
			}
		case unpublished:
			p.unpublications.Add(1)
			p.haveLast = false // a new publisher may resume anywhere
		}
	}
}

// onVideo counts a video frame, and the frames missing before it: a
// timestamp step of more than 1.5 frame intervals means
// round(step/interval) - 1 frames were dropped on the way.
func (p *player) onVideo(ts uint32, body []byte, interval float64) {
	if !flv.ParseVideo(body).Frame {
		return
	}
	p.video.Add(1)
	if p.haveLast {
		if step := float64(int32(ts - p.lastVideo)); step > 1.5*interval {
			p.dropped.Add(uint64(math.Round(step/interval)) - 1)
		}
	}
	p.lastVideo, p.haveLast = ts, true
}

// errString returns the player's error, if any.
func (p *player) errString() string {
	if s := p.err.Load(); s != nil {
		return *s
	}
	return ""
}
