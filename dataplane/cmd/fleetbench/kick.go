package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runKick runs a load (a publisher and its players), then kicks victims
// through the API one at a time, alternately a player of the loaded stream
// and a publisher of a stream of its own, which has a player of its own
// (a witness). For each kick it measures from sending the DELETE to the
// victim's blocked read failing, and checks that the answer is code 0,
// that no client of the load lost its socket and that the given processes
// are alive; a witness must stay connected and be told
// NetStream.Play.UnpublishNotify, as SRS tells players whose publisher
// left. At the end every player of the load must still be receiving.
func runKick(ctx context.Context, args []string, out *reporter) error {
	fs := flag.NewFlagSet("kick", flag.ContinueOnError)
	apiAddr := fs.String("api", "127.0.0.1:1985", "control-plane HTTP API host:port")
	rtmpAddr := fs.String("rtmp", "127.0.0.1:1935", "worker RTMP host:port")
	app := fs.String("app", "live", "RTMP app")
	stream := fs.String("stream", "fleetbench", "stream the load publishes and plays")
	players := fs.Int("players", 4, "players of the load")
	kbps := fs.Int("kbps", 1000, "bitrate of the load's publisher")
	kicks := fs.Int("kicks", 1000, "victims to kick, one after the other")
	label := fs.String("label", "idle", "names the figures")
	pids := fs.String("pids", "", "comma-separated pids that must stay alive (control plane, worker)")
	within := fs.Duration("within", 3*time.Second, "a victim's socket must close within this of its kick")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	alive, err := parsePIDs(*pids)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	a := newAPI(*apiAddr)
	url := "rtmp://" + *rtmpAddr + "/" + *app
	l, err := startLoad(ctx, url, *stream, *players, *kbps)
	if err != nil {
		return err
	}
	defer l.close()
	page := *players + 64 // the load, a victim, its witness and kicked ones not yet gone
	known := map[string]bool{}
	cs, err := a.clients(ctx, 0, page)
	if err != nil {
		return err
	}
	for _, c := range cs {
		known[c.ID] = true
	}
	out.logf("%s: %d clients of the load listed; kicking %d victims", *label, len(known), *kicks)

	var closeLat, answerLat [2]latencies // [player, publisher]
	codes := map[int]int{}
	var unclosed, collateral, witnessesLost, witnessesUntold int
	// A witness is checked one kick later, then closed. The notice may
	// still be on its way: the server gathers a player's messages for up
	// to mw_latency (350 ms by default).
	var witness *watched
	checkWitness := func() {
		if witness == nil {
			return
		}
		t := time.NewTimer(time.Second)
		select {
		case <-witness.unpublished:
		case <-witness.closed:
		case <-t.C:
		}
		t.Stop()
		switch {
		case witness.isClosed():
			witnessesLost++
		case !isDone(witness.unpublished):
			witnessesUntold++
		}
		witness.conn.Close()
		witness = nil
	}
	defer checkWitness()
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	began, received := time.Now(), l.received()
	for k := range *kicks {
		if ctx.Err() != nil {
			break
		}
		kind := k % 2 // 0: player, 1: publisher
		v, w, err := victim(ctx, url, *stream, fmt.Sprintf("victim-%s-%d", run, k), kind == 1)
		if err != nil {
			return fmt.Errorf("victim %d: %w", k, err)
		}
		id, err := discover(ctx, a, page, known, w != nil)
		if err != nil {
			v.conn.Close()
			return fmt.Errorf("victim %d: %w", k, err)
		}
		sent := time.Now()
		code, err := a.kick(ctx, id)
		if err != nil {
			return fmt.Errorf("kick %d: %w", k, err)
		}
		answerLat[kind] = append(answerLat[kind], time.Since(sent))
		codes[code]++
		t := time.NewTimer(*within)
		select {
		case <-v.closed:
			closeLat[kind] = append(closeLat[kind], v.closedAt.Sub(sent))
		case <-t.C:
			unclosed++
			out.logf("kick %d: victim %s still open %v after its kick (code %d)", k, id, *within, code)
		}
		t.Stop()
		v.conn.Close()
		checkWitness()
		witness = w
		if n := l.casualties(); n > collateral {
			out.logf("kick %d: %d clients of the load lost their socket", k, n-collateral)
			collateral = n
		}
		if err := checkAlive(alive); err != nil {
			return fmt.Errorf("after kick %d: %w", k, err)
		}
	}
	checkWitness()
	// The load runs on for a while: a disconnect the last kicks caused
	// shows, and the rate below spans more than the server's merged
	// writes (mw_latency, 350 ms by default).
	if err := sleep(ctx, max(time.Second, 2*time.Second-time.Since(began))); err != nil {
		return err
	}
	collateral = l.casualties()
	delivered := float64(l.received()-received) * 8 / 1e6 / time.Since(began).Seconds()
	stale := 0
	if *kbps > 0 {
		stale = l.stale(time.Second)
	}
	// Every client of ours is closed now: none may stay listed, as one
	// whose connection never wound down on the worker would.
	l.close()
	ghosts, err := lingering(ctx, a, page, known, 3*time.Second)
	if err != nil {
		return err
	}
	all := slices.Concat(closeLat[0], closeLat[1])
	name := "kick " + *label
	out.figure(name+" close latency (DELETE sent -> socket closed)", "%s", all.summary())
	out.figure(name+" close latency, players", "%s", closeLat[0].summary())
	out.figure(name+" close latency, publishers", "%s", closeLat[1].summary())
	out.figure(name+" answer latency (DELETE round trip)", "%s", slices.Concat(answerLat[0], answerLat[1]).summary())
	out.figure(name+" answers", "%s", formatCodes(codes))
	out.figure(name+" victims left open", "%d", unclosed)
	out.figure(name+" collateral disconnects", "%d of %d clients of the load, %d of %d witnesses",
		collateral, *players+1, witnessesLost, len(closeLat[1]))
	out.figure(name+" witnesses not told UnpublishNotify", "%d", witnessesUntold)
	out.figure(name+" load during the kicks", "%d players receiving %.0f Mbit/s in all; %d not receiving at the end",
		*players, delivered, stale)
	out.figure(name+" clients still listed 3 s after all closed", "%d", ghosts)
	if unclosed > 0 || collateral > 0 || witnessesLost > 0 || witnessesUntold > 0 || stale > 0 || ghosts > 0 || codes[0] != *kicks {
		return errors.New("kick checks failed")
	}
	return nil
}

// victim connects a client to kick: a player of stream, or a publisher of
// a stream named name with a player of its own, the witness.
func victim(ctx context.Context, url, stream, name string, publisher bool) (v, witness *watched, err error) {
	if !publisher {
		c, err := play(ctx, url, stream)
		if err != nil {
			return nil, nil, err
		}
		return watch(c), nil, nil
	}
	c, err := publish(ctx, url, name)
	if err != nil {
		return nil, nil, err
	}
	if err := sendHeaders(c); err != nil {
		c.Close()
		return nil, nil, err
	}
	wc, err := play(ctx, url, name)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return watch(c), watch(wc), nil
}

// discover polls the client list until the newly connected clients
// appear (two with a witness), and returns the victim's id: the one that
// publishes when there is a witness. Clients connect one victim at a
// time, so the new ones are the victim's; they join known.
func discover(ctx context.Context, a *api, page int, known map[string]bool, withWitness bool) (string, error) {
	want := 1
	if withWitness {
		want = 2
	}
	var fresh []listedClient
	_, err := pollList(ctx, a, page, 2*time.Second, func(cs []listedClient) bool {
		fresh = fresh[:0]
		for _, c := range cs {
			if !known[c.ID] {
				fresh = append(fresh, c)
			}
		}
		return len(fresh) >= want
	})
	if err != nil {
		return "", err
	}
	id := fresh[0].ID
	for _, c := range fresh {
		known[c.ID] = true
		if c.Publish {
			id = c.ID
		}
	}
	return id, nil
}

// lingering waits until no client in ours is listed and returns how
// many still are when within has passed.
func lingering(ctx context.Context, a *api, page int, ours map[string]bool, within time.Duration) (int, error) {
	n := 0
	_, err := pollList(ctx, a, page, within, func(cs []listedClient) bool {
		n = 0
		for _, c := range cs {
			if ours[c.ID] {
				n++
			}
		}
		return n == 0
	})
	if errors.Is(err, errNotWithin) {
		err = nil
	}
	return n, err
}

func formatCodes(codes map[int]int) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(codes)) {
		parts = append(parts, fmt.Sprintf("code %d x %d", c, codes[c]))
	}
	return strings.Join(parts, ", ")
}

func parsePIDs(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("pid %q: %w", f, err)
		}
		out = append(out, pid)
	}
	return out, nil
}
