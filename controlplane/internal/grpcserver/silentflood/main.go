// Command silentflood measures what silent TCP connections cost a control
// plane: it opens -n connections to its fleet port that send nothing, then
// reports, at each -at time after the last one was opened, how many the
// server still holds open and the server's file descriptors and RSS (from
// /proc/PID). Loopback addresses only.
//
//	go run ./internal/grpcserver/silentflood -addr 127.0.0.1:PORT -pid PID -n 2000 -at 1s,7s
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "", "the control plane's fleet endpoint, host:port (loopback)")
	pid := flag.Int("pid", 0, "the control plane's pid")
	n := flag.Int("n", 2000, "silent connections to open")
	at := flag.String("at", "1s,7s", "comma-separated times after the last connection opened to report at")
	flag.Parse()
	if err := run(*addr, *pid, *n, *at); err != nil {
		fmt.Fprintln(os.Stderr, "silentflood:", err)
		os.Exit(1)
	}
}

func run(addr string, pid, n int, at string) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: want a loopback host:port", addr)
	}
	if pid <= 0 {
		return errors.New("-pid is required")
	}
	var times []time.Duration
	for f := range strings.SplitSeq(at, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-at: %w", err)
		}
		times = append(times, d)
	}

	report := func(label string, open int) error {
		fds, rss, err := proc(pid)
		if err != nil {
			return err
		}
		fmt.Printf("%-28s held open %5d of %d   server fds %5d   server RSS %6.1f MiB\n", label, open, n, fds, float64(rss)/(1<<20))
		return nil
	}
	if err := report("before", 0); err != nil {
		return err
	}

	// Each connection's reader notes when the server closes it.
	var closed atomic.Int64
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	began := time.Now()
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
		go func() {
			_, _ = io.Copy(io.Discard, c)
			closed.Add(1)
		}()
	}
	opened := time.Now()
	fmt.Printf("opened %d connections in %.2f s\n", n, opened.Sub(began).Seconds())
	for _, d := range times {
		time.Sleep(time.Until(opened.Add(d)))
		if err := report(fmt.Sprintf("%v after the last", d), n-int(closed.Load())); err != nil {
			return err
		}
	}
	return nil
}

// proc returns the process's open file descriptors and resident set size.
func proc(pid int) (fds int, rss int64, err error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("VmRSS %q: %w", v, err)
			}
			rss = kb << 10
		}
	}
	return len(ents), rss, nil
}
