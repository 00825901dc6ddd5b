package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"time"

	"tidecast.dev/dataplane/internal/rtmp/client"
)

// runFreshness connects clients one at a time, alternately players and
// publishers, each on a stream name of its own so the list shows which is
// which. For each it measures from the moment its play or publish
// completed to the first list page that shows it ("join"), then from
// closing it to the first page without it ("leave"). The page is polled
// in a tight loop: its round trip, a fraction of a millisecond on
// loopback, is the figures' resolution.
func runFreshness(ctx context.Context, args []string, out *reporter) error {
	fs := flag.NewFlagSet("freshness", flag.ContinueOnError)
	apiAddr := fs.String("api", "127.0.0.1:1985", "control-plane HTTP API host:port")
	rtmpAddr := fs.String("rtmp", "127.0.0.1:1935", "worker RTMP host:port")
	app := fs.String("app", "live", "RTMP app")
	n := fs.Int("n", 400, "clients to connect, one after the other")
	page := fs.Int("page", 16, "clients per list page polled (more than are connected besides)")
	within := fs.Duration("within", 2*time.Second, "give up on one client after this long")
	timeout := fs.Duration("timeout", 3*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	a := newAPI(*apiAddr)
	url := "rtmp://" + *rtmpAddr + "/" + *app
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	var join, leave latencies
	misses := 0
	for i := range *n {
		if ctx.Err() != nil {
			break
		}
		name := fmt.Sprintf("fresh-%s-%d", run, i)
		c, connected, err := connectOne(ctx, url, name, i%2 == 1)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		listed := func(cs []listedClient) bool {
			return slices.ContainsFunc(cs, func(c listedClient) bool { return c.Name == name })
		}
		seen, err := pollList(ctx, a, *page, *within, listed)
		c.Close()
		closed := time.Now()
		if err != nil {
			misses++
			out.logf("client %d (%s) not listed: %v", i, name, err)
			continue
		}
		join = append(join, seen.Sub(connected))
		gone, err := pollList(ctx, a, *page, *within, func(cs []listedClient) bool { return !listed(cs) })
		if err != nil {
			misses++
			out.logf("client %d (%s) still listed: %v", i, name, err)
			continue
		}
		leave = append(leave, gone.Sub(closed))
	}
	out.figure("freshness join (connect done -> listed)", "%s", join.summary())
	out.figure("freshness leave (close -> unlisted)", "%s", leave.summary())
	out.figure("freshness misses", "%d", misses)
	if misses > 0 || len(join) < *n {
		return fmt.Errorf("%d of %d clients measured", len(join), *n)
	}
	return nil
}

// connectOne plays or publishes name and returns when that completed.
func connectOne(ctx context.Context, url, name string, publisher bool) (*client.Conn, time.Time, error) {
	if !publisher {
		c, err := play(ctx, url, name)
		return c, time.Now(), err
	}
	c, err := publish(ctx, url, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	done := time.Now()
	if err := sendHeaders(c); err != nil {
		c.Close()
		return nil, time.Time{}, err
	}
	return c, done, nil
}

// errNotWithin: the condition did not hold in time.
var errNotWithin = errors.New("not within the time allowed")

// pollList reads the first page of the client list until cond holds and
// returns when the page that satisfied it arrived.
func pollList(ctx context.Context, a *api, count int, within time.Duration, cond func([]listedClient) bool) (time.Time, error) {
	deadline := time.Now().Add(within)
	for {
		cs, err := a.clients(ctx, 0, count)
		now := time.Now()
		if err != nil {
			return now, err
		}
		if cond(cs) {
			return now, nil
		}
		if now.After(deadline) {
			return now, errNotWithin
		}
	}
}
