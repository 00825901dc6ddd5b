package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"time"
)

// runScale connects fake workers to one control plane and, once their
// clients are all listed and a warm-up has passed, measures the control
// plane while it ingests (CPU, RSS), then while it also serves a deep page
// of the client list (the page's latency), then kicks fake players one at
// a time: each kick's ClientLeft changes the fleet, as a real kick does,
// so the next kick finds the view out of date.
func runScale(ctx context.Context, args []string, out *reporter) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	apiAddr := fs.String("api", "127.0.0.1:1985", "control-plane HTTP API host:port")
	fleetAddr := fs.String("fleet", "127.0.0.1:1988", "control-plane fleet endpoint host:port")
	token := fs.String("token", "", "fleet token")
	pid := fs.Int("cp-pid", 0, "the control plane's pid, for its CPU and RSS")
	workers := fs.Int("fake-workers", 50, "fake workers")
	perWorker := fs.Int("clients-per-worker", 2000, "clients of each fake worker")
	streams := fs.Int("streams-per-worker", 20, "streams of each fake worker (each client plays one)")
	warmup := fs.Duration("warmup", 10*time.Second, "wait after every client is listed, before measuring")
	ingest := fs.Duration("ingest", 10*time.Second, "how long CPU is measured while only ingesting")
	pagePath := fs.String("page", "/api/v1/clients/?start=90000&count=100", "API path requested while ingesting")
	requests := fs.Int("page-requests", 5000, "page requests")
	rate := fs.Int("page-rate", 500, "page requests a second, spread evenly")
	conc := fs.Int("page-concurrency", 4, "goroutines requesting pages")
	maxRSS := fs.Int64("max-rss-mib", 256, "target: the control plane's peak RSS, MiB")
	maxP99 := fs.Duration("max-page-p99", 5*time.Millisecond, "target: the page's p99 latency")
	kicks := fs.Int("kicks", 200, "fake players kicked through the API, one after the other, last")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid == 0 {
		return errors.New("-cp-pid is required")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	a := newAPI(*apiAddr)

	fleet, err := startFakeFleet(ctx, *fleetAddr, *token, *workers, *perWorker, *streams, out)
	if err != nil {
		return err
	}
	defer fleet.stop()
	total := *workers * *perWorker
	began := time.Now()
	if err := waitListed(ctx, a, total, time.Minute); err != nil {
		return err
	}
	out.figure("scale fleet", "%d fake workers x %d clients = %d clients, all listed %.1f s after connecting",
		*workers, *perWorker, total, time.Since(began).Seconds())
	if err := sleep(ctx, *warmup); err != nil {
		return err
	}

	p0, err := readProc(*pid)
	if err != nil {
		return err
	}
	b0 := fleet.bytes()
	if err := sleep(ctx, *ingest); err != nil {
		return err
	}
	p1, err := readProc(*pid)
	if err != nil {
		return err
	}
	b1 := fleet.bytes()
	secs := p1.at.Sub(p0.at).Seconds()
	perWorkerSec := func(n int64) float64 { return float64(n) / float64(*workers) / secs / 1024 }
	out.figure("scale control-plane CPU while ingesting", "%.1f%% of a core", 100*cpuShare(p0, p1))
	out.figure("scale bytes ingested per worker per second", "%.1f KiB (samples %.1f, node stats %.2f, other %.2f); snapshot %.1f KiB",
		perWorkerSec(b1.total()-b0.total()), perWorkerSec(b1.samples-b0.samples), perWorkerSec(b1.stats-b0.stats),
		perWorkerSec(b1.other-b0.other), float64(fleet.snapshotBytes)/1024)

	lat, failed, err := pages(ctx, a, *pagePath, *requests, *rate, *conc)
	if err != nil {
		return err
	}
	p2, err := readProc(*pid)
	if err != nil {
		return err
	}
	peak, err := peakRSS(*pid)
	if err != nil {
		return err
	}
	out.figure("scale control-plane CPU while ingesting and serving pages", "%.1f%% of a core (%d requests/s)", 100*cpuShare(p1, p2), *rate)
	out.figure("scale control-plane RSS", "%.0f MiB at the end, peak %.0f MiB", mib(p2.rssBytes), mib(peak))
	out.figure("scale page latency "+*pagePath, "%s", lat.summary())
	out.figure("scale page errors", "%d", failed)

	kicked, codes, err := kickEach(ctx, a, fleet.victims(*kicks, *streams))
	if err != nil {
		return err
	}
	out.figure("scale kick latency (DELETE round trip; the fake worker answers at once)", "%s", kicked.summary())
	out.figure("scale kick answers", "%s", formatCodes(codes))
	out.figure("scale fake-worker sessions reopened", "%d", fleet.restarts.Load())
	var missed []string
	if peak > *maxRSS<<20 {
		missed = append(missed, fmt.Sprintf("peak RSS %.0f MiB > %d MiB", mib(peak), *maxRSS))
	}
	if p99 := lat.percentile(99); p99 > *maxP99 {
		missed = append(missed, fmt.Sprintf("page p99 %s > %s", msec(p99), msec(*maxP99)))
	}
	if n := len(kicked) - codes[0]; n > 0 {
		missed = append(missed, fmt.Sprintf("%d kicks not answered 0", n))
	}
	if failed > 0 {
		missed = append(missed, fmt.Sprintf("%d page requests failed", failed))
	}
	if len(missed) > 0 {
		return fmt.Errorf("checks failed: %s", strings.Join(missed, "; "))
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitListed polls the workers list until it counts want clients.
func waitListed(ctx context.Context, a *api, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		n, err := a.fleetClients(ctx)
		if err == nil && n == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d clients listed after %v (%v)", n, want, within, err)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// pages requests path n times at rate a second from conc goroutines and
// returns the latencies of those answered. Requests are released on a
// schedule, so a slow answer does not slow the ones after it unless every
// goroutine is busy.
func pages(ctx context.Context, a *api, path string, n, rate, conc int) (latencies, int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n/max(rate, 1))*2*time.Second+30*time.Second)
	defer cancel()
	slots := make(chan struct{})
	var mu sync.Mutex
	var lat latencies
	failed := 0
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for range slots {
				t0 := time.Now()
				err := a.get(ctx, path)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	tick := time.NewTicker(time.Second / time.Duration(max(rate, 1)))
	defer tick.Stop()
	var err error
release:
	for range n {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break release
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
			break release
		}
	}
	close(slots)
	wg.Wait()
	return lat, failed, err
}

// kickEach kicks ids one after the other and returns the latencies and
// the codes answered.
func kickEach(ctx context.Context, a *api, ids []string) (latencies, map[int]int, error) {
	var lat latencies
	codes := map[int]int{}
	for _, id := range ids {
		t0 := time.Now()
		code, err := a.kick(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		lat = append(lat, time.Since(t0))
		codes[code]++
	}
	return lat, codes, nil
}
