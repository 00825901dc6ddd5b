package main

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// loadConfig is what a run is asked to do.
type loadConfig struct {
	url, name, path string
	players         int
	// flvURL is the HTTP-FLV URL of flvPlayers more players.
	flvURL         string
	flvPlayers     int
	interval       time.Duration
	connectTimeout time.Duration
	duration       time.Duration
	warmup         time.Duration
	fps            float64
	watchPID       int
	api            string
	// The URLs parsed.
	rtmpURL, flvParsed *url.URL
}

// snapshot is every player's counters at one instant, with what the
// server looked like then.
type snapshot struct {
	at     time.Time
	counts []counts
	server serverSample
}

func takeSnapshot(ctx context.Context, cfg *loadConfig, players []*player) snapshot {
	s := snapshot{at: time.Now(), counts: make([]counts, len(players))}
	for i, p := range players {
		s.counts[i] = p.counts()
	}
	s.server = sampleServer(ctx, cfg)
	return s
}

// runPlayers runs the players through connect, warm-up and window, then
// closes them and reports.
func runPlayers(ctx context.Context, cfg loadConfig) *Report {
	total := cfg.players + cfg.flvPlayers
	zero := snapshot{counts: make([]counts, total), server: sampleServer(ctx, &cfg)}
	players := make([]*player, total)
	for i := range players {
		players[i] = &player{}
	}
	pctx, stopPlayers := context.WithCancel(ctx)
	defer stopPlayers()
	var stopping, measuring atomic.Bool
	var wg, ready sync.WaitGroup

	start := time.Now()
	zero.at = start
	eg := &egress{players: players}
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		eg.run(pctx, start)
	}()

	ready.Add(len(players))
	tick := time.NewTicker(cfg.interval)
	for i, p := range players {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			p.fail(failed, context.Cause(ctx))
			ready.Done()
			continue
		}
		u := cfg.rtmpURL
		if i >= cfg.players {
			u = cfg.flvParsed
		}
		wg.Go(func() { p.run(pctx, &cfg, u, ready.Done, &stopping, &measuring, start) })
	}
	tick.Stop()
	ready.Wait()
	connected := time.Now()

	sleepUntil(ctx, connected.Add(cfg.warmup))
	measuring.Store(true)
	from := takeSnapshot(ctx, &cfg, players)
	sleepUntil(ctx, connected.Add(cfg.duration))
	to := takeSnapshot(ctx, &cfg, players)
	measuring.Store(false)

	stopping.Store(true)
	stopPlayers()
	wg.Wait()
	<-sampled
	return newReport(&cfg, players, zero, from, to, connected.Sub(start), eg)
}

// sleepUntil waits for t or the end of ctx.
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// egress samples the players' total bytes every second.
type egress struct {
	players []*player
	// mbps[i] is the egress over second i of the run.
	mbps []float64
}

func (e *egress) run(ctx context.Context, start time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last uint64
	lastAt := start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			var total uint64
			for _, p := range e.players {
				total += p.bytes.Load()
			}
			e.mbps = append(e.mbps, mbps(total-last, now.Sub(lastAt)))
			last, lastAt = total, now
		}
	}
}

// buckets averages the 1 s figures over n seconds (whole buckets only).
func (e *egress) buckets(n int) []float64 {
	var out []float64
	for i := 0; i+n <= len(e.mbps); i += n {
		var sum float64
		for _, v := range e.mbps[i : i+n] {
			sum += v
		}
		out = append(out, round2(sum/float64(n)))
	}
	return out
}

func mbps(bytes uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) * 8 / 1e6 / d.Seconds()
}
