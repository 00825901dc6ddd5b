package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// load is a publisher feeding a stream and the players watching it: the
// clients a kick must leave alone.
type load struct {
	pub     *watched
	players []*watched
	fed     chan error // the feeder's end
	stop    context.CancelFunc
}

// startLoad publishes stream at kbps and connects players to it, a few at
// a time, then waits until every player has received media.
func startLoad(ctx context.Context, url, stream string, players, kbps int) (*load, error) {
	c, err := publish(ctx, url, stream)
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	if err := sendHeaders(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("publisher: %w", err)
	}
	fctx, stop := context.WithCancel(ctx)
	l := &load{pub: watch(c), fed: make(chan error, 1), stop: stop}
	go func() { l.fed <- feed(fctx, c, kbps) }()

	l.players = make([]*watched, players)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 8)
	for i := range players {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := play(ctx, url, stream)
			if err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, fmt.Errorf("player %d: %w", i, err))
				mu.Unlock()
				return
			}
			l.players[i] = watch(c)
		})
	}
	wg.Wait()
	if firstErr != nil {
		l.close()
		return nil, firstErr
	}
	// Two frames' worth each: media, not only the stream's headers. The
	// server may gather a player's messages for a while (mw_latency).
	if err := l.waitMedia(ctx, int64(2*kbps*1000/8/fps), 10*time.Second); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// waitMedia waits until every player has read bytes of payload.
func (l *load) waitMedia(ctx context.Context, bytes int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, p := range l.players {
		for p.msgs.Load() == 0 || p.bytes.Load() < bytes {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("a player got no media within %v", within)
			}
			time.Sleep(10 * time.Millisecond) // polling, not synchronisation
		}
	}
	return nil
}

// casualties counts the load's clients whose socket has closed.
func (l *load) casualties() int {
	n := 0
	if l.pub.isClosed() {
		n++
	}
	for _, p := range l.players {
		if p.isClosed() {
			n++
		}
	}
	return n
}

// stale counts the players that read nothing for longer than quiet: with
// the publisher feeding, each should read many messages a second.
func (l *load) stale(quiet time.Duration) int {
	n := 0
	for _, p := range l.players {
		if time.Since(time.Unix(0, p.lastRead.Load())) > quiet {
			n++
		}
	}
	return n
}

// received is the payload bytes every player has read so far.
func (l *load) received() int64 {
	var n int64
	for _, p := range l.players {
		n += p.bytes.Load()
	}
	return n
}

func (l *load) close() {
	l.stop()
	l.pub.conn.Close()
	for _, p := range l.players {
		if p != nil {
			p.conn.Close()
		}
	}
}
