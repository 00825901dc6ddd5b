package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/client"
	"tidecast.dev/dataplane/internal/rtmp/handshake"
)

// A flood is many connections doing what a hostile client does before it
// has published or played anything.
type floodKind int

const (
	// floodIdle opens the TCP connection and sends nothing.
	floodIdle floodKind = iota
	// floodBigBeforeConnect completes the handshake, raises the chunk size
	// to 64 KiB and sends the first floodStart bytes of an 8 MiB message.
	floodBigBeforeConnect
	// floodBigAfterConnect does the same after a connect command.
	floodBigAfterConnect
	// floodUnderLimit completes the handshake and sends the first 48 KiB
	// of a 60 KiB command: under the limit of a connection negotiating,
	// so the server holds it until the connect timeout.
	floodUnderLimit
	// floodGarbage completes the handshake and sends a chunk stream
	// opening with a type-3 header: a protocol error.
	floodGarbage
)

func (k floodKind) String() string {
	return [...]string{"idle", "8MiB-before-connect", "8MiB-after-connect", "60KiB-partial", "garbage"}[k]
}

// floodStart is how much of an 8 MiB message a flood connection sends.
const floodStart = 256 << 10

// floodPrefix is what a flood connection sends after the handshake.
func floodPrefix(kind floodKind, tcURL string) []byte {
	var b []byte
	switch kind {
	case floodBigAfterConnect:
		p, _ := amf0.Append(nil, "connect", 1.0, amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: tcURL}})
		b = chunk.AppendMessage(b, chunk.DefaultChunkSize, &chunk.Message{CSID: chunk.CSIDConnection, Type: chunk.TypeCommandAMF0, Payload: p})
		fallthrough
	case floodBigBeforeConnect:
		return appendMessageStart(chunk.AppendSetChunkSize(b, 64<<10), 6, chunk.TypeVideo, 8<<20, floodStart, 64<<10)
	case floodUnderLimit:
		return appendMessageStart(chunk.AppendSetChunkSize(b, 4096), 3, chunk.TypeCommandAMF0, 60<<10, 48<<10, 4096)
	case floodGarbage:
		return []byte{0xc0 | 10, 1, 2, 3}
	}
	return nil
}

// appendMessageStart appends the first n bytes (zeros, in chunks of
// chunkSize) of a message announced as length bytes long.
func appendMessageStart(b []byte, csid byte, typ uint8, length, n, chunkSize int) []byte {
	b = append(b, csid, 0, 0, 0, byte(length>>16), byte(length>>8), byte(length), typ, 1, 0, 0, 0)
	for sent := 0; sent < n; {
		if sent > 0 {
			b = append(b, 3<<6|csid)
		}
		k := min(chunkSize, n-sent)
		b = append(b, make([]byte, k)...)
		sent += k
	}
	return b
}

// floodConn opens one flood connection to addr from the local address
// from (nil: any) and sends what kind sends. It returns the connection
// and the bytes it sent.
func floodConn(ctx context.Context, addr string, from net.IP, kind floodKind) (net.Conn, int, error) {
	d := net.Dialer{}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	if kind == floodIdle {
		return nc, 0, nil
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	counted := &countingConn{Conn: nc}
	if _, err := handshake.Client(counted); err != nil {
		nc.Close()
		return nil, 0, fmt.Errorf("handshake: %w", err)
	}
	if _, err := counted.Write(floodPrefix(kind, "rtmp://"+addr+"/live")); err != nil {
		nc.Close()
		return nil, 0, err
	}
	nc.SetDeadline(time.Time{})
	return nc, counted.written, nil
}

type countingConn struct {
	net.Conn
	written int
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written += n
	return n, err
}

// spread gives perIP flood connections to each address of 127.b.0.0,
// 127.b.0.1, ...: a flood from many hosts.
func spread(b byte, perIP int) func(int) net.IP {
	return func(i int) net.IP {
		j := i / perIP
		return net.IPv4(127, b, byte(j>>8), byte(j))
	}
}

// from gives every flood connection the same address: a flood from one
// host.
func from(ip net.IP) func(int) net.IP { return func(int) net.IP { return ip } }

// flood opens n connections of kind to addr, the i-th from source(i), a
// few at a time. Connections the server refused or closed count as
// opened; only a failure to dial or to send is an error.
func flood(ctx context.Context, addr string, n int, kind floodKind, source func(int) net.IP) (conns []net.Conn, sent int, err error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			nc, k, e := floodConn(ctx, addr, source(i), kind)
			mu.Lock()
			defer mu.Unlock()
			if e != nil {
				err = errors.Join(err, e)
				return
			}
			conns, sent = append(conns, nc), sent+k
		})
	}
	wg.Wait()
	return conns, sent, err
}

// closeAll closes flood connections.
func closeAll(conns []net.Conn) {
	for _, nc := range conns {
		nc.Close()
	}
}

// BenchmarkFloodRSS measures what a flood of 1,000 connections (from 20
// loopback addresses, 50 each, as a botnet would spread them) costs the
// real worker binary: its RSS growth (VmRSS) and peak growth (VmHWM) once
// it has read everything the connections sent (its rchar says so). The
// binary is built from this module unless RTMP_FLOOD_BINARY names one (to
// measure another version). The work is done once whatever b.N is: run it
// with -benchtime=1x.
//
//	go test -run '^$' -bench FloodRSS -benchtime=1x ./internal/rtmp/server/
func BenchmarkFloodRSS(b *testing.B) {
	bin := workerBinary(b)
	n, _ := strconv.Atoi(os.Getenv("RTMP_FLOOD_CONNS"))
	if n <= 0 {
		n = 1000
	}
	for _, kind := range []floodKind{floodIdle, floodBigBeforeConnect, floodBigAfterConnect, floodUnderLimit} {
		b.Run(kind.String(), func(b *testing.B) {
			w := startWorker(b, bin)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			settle(b, w.pid)
			rss0, hwm0 := procStatusKB(b, w.pid, "VmRSS"), procStatusKB(b, w.pid, "VmHWM")
			read0 := procRchar(b, w.pid)
			conns, sent, err := flood(ctx, w.addr, n, kind, spread(1, 50))
			defer closeAll(conns) // and the readers below return
			if err != nil {
				b.Fatalf("flood: %v", err)
			}
			// Wait until the worker has read all that was sent, or closed
			// every connection, or read nothing more for 2 s (it closed
			// some and holds the others).
			var closed sync.WaitGroup
			for _, nc := range conns {
				closed.Go(func() { io.Copy(io.Discard, nc) })
			}
			allClosed := make(chan struct{})
			go func() { closed.Wait(); close(allClosed) }()
			last, still := procRchar(b, w.pid), 0
		wait:
			for read := last; read-read0 < uint64(sent) && still < 200 && ctx.Err() == nil; read = procRchar(b, w.pid) {
				if read == last {
					still++
				} else {
					last, still = read, 0
				}
				select {
				case <-allClosed:
					break wait
				case <-time.After(10 * time.Millisecond):
				}
			}
			rss, hwm := procStatusKB(b, w.pid, "VmRSS"), procStatusKB(b, w.pid, "VmHWM")
			b.ReportMetric(float64(rss-rss0)/1024, "MiB-rss-growth")
			b.ReportMetric(float64(hwm-hwm0)/1024, "MiB-peak-growth")
			b.ReportMetric(float64(sent)/(1<<20), "MiB-sent")
			b.ReportMetric(float64(n), "conns")
			b.Logf("%s: %d connections sent %.1f MiB; worker RSS %d -> %d KiB (peak %d -> %d KiB); %d refusal lines in its log",
				kind, n, float64(sent)/(1<<20), rss0, rss, hwm0, hwm, w.refusals())
		})
	}
}

// BenchmarkFloodOneAddress floods the real worker binary with 2,000 idle
// TCP connections from one address (127.0.0.2), then dials it with the Go
// client from another (127.0.0.1) and reports whether that client got in,
// how many connections the worker refused and how many log lines the flood
// made, once the admitted ones have reached the handshake timeout (it
// waits 11 s for that: 10 s was the timeout before 5 s). As
// BenchmarkFloodRSS, run it once:
//
//	go test -run '^$' -bench FloodOneAddress -benchtime=1x ./internal/rtmp/server/
func BenchmarkFloodOneAddress(b *testing.B) {
	bin := workerBinary(b)
	w := startWorker(b, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lines0 := w.lines()
	const n = 2000
	conns, _, err := flood(ctx, w.addr, n, floodIdle, from(net.IPv4(127, 0, 0, 2)))
	defer closeAll(conns)
	if err != nil {
		b.Fatalf("flood: %v", err)
	}
	// The refused connections are closed at once: wait until the count
	// of closed ones stops moving for a second.
	closed := new(atomic.Int64)
	for _, nc := range conns {
		go func() {
			io.Copy(io.Discard, nc)
			closed.Add(1)
		}()
	}
	for last, still := int64(-1), 0; still < 100; time.Sleep(10 * time.Millisecond) {
		if c := closed.Load(); c == last {
			still++
		} else {
			last, still = c, 0
		}
	}
	refused := closed.Load()
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	c, err := client.Dial(dctx, "rtmp://"+w.addr+"/live")
	dcancel()
	got := 0.0
	if err == nil {
		got = 1
		c.Close()
	}
	time.Sleep(11 * time.Second)
	lines := w.lines() - lines0
	b.ReportMetric(float64(refused), "refused")
	b.ReportMetric(float64(w.refusals()), "refusal-lines")
	b.ReportMetric(float64(lines), "log-lines")
	b.ReportMetric(got, "real-client-in")
	b.Logf("%d idle connections from 127.0.0.2: %d refused, %d refusal lines and %d log lines in all; a client from 127.0.0.1: %v",
		n, refused, w.refusals(), lines, err)
}

// workerBinary is the worker binary the flood benchmarks run: built from
// this module unless RTMP_FLOOD_BINARY names one.
func workerBinary(b *testing.B) string {
	if bin := os.Getenv("RTMP_FLOOD_BINARY"); bin != "" {
		return bin
	}
	bin := filepath.Join(b.TempDir(), "dataplane")
	out, err := exec.Command("go", "build", "-o", bin, "tidecast.dev/dataplane/cmd/dataplane").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// worker is a dataplane process serving RTMP on a loopback port, without
// a control plane.
type worker struct {
	pid  int
	addr string
	mu   sync.Mutex
	log  []string
}

func (w *worker) lines() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.log)
}

func (w *worker) refusals() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.log {
		if strings.Contains(l, "refusing") {
			n++
		}
	}
	return n
}

var listeningRE = regexp.MustCompile(`msg=listening component=rtmp addr=(\S+)`)

func startWorker(b *testing.B, bin string) *worker {
	b.Helper()
	cmd := exec.Command(bin, "-node-id", fmt.Sprintf("rtmpflood-%d-%d", os.Getpid(), time.Now().UnixNano()),
		"-control-plane", "127.0.0.1:1", "-rtmp-listen", "127.0.0.1:0", "-webrtc-listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w := &worker{pid: cmd.Process.Pid}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
			w.mu.Lock()
			w.log = append(w.log, line)
			w.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		<-done
		cmd.Wait()
	})
	select {
	case w.addr = <-addr:
	case <-time.After(30 * time.Second):
		b.Fatal("the worker did not say where it listens")
	}
	return w
}

// settle waits for the worker's RSS to stop moving after its start.
func settle(b *testing.B, pid int) {
	prev := procStatusKB(b, pid, "VmRSS")
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		cur := procStatusKB(b, pid, "VmRSS")
		if cur == prev {
			return
		}
		prev = cur
	}
}

func procStatusKB(b *testing.B, pid int, field string) uint64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.Fields(v)[0], 10, 64)
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// procRchar is the bytes the process read through read-like system calls,
// sockets included.
func procRchar(b *testing.B, pid int) uint64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "rchar:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	b.Fatal("no rchar")
	return 0
}
