package server

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/mediatest"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/handshake"
)

// hangGuard bounds the waits of these tests: reaching it is a failure
// (something that should happen did not), never a measurement.
const hangGuard = 2 * time.Minute

// closedByServer reads conns until each ends, counting those that ended;
// closed tells how many did so far.
func closedByServer(conns []net.Conn) (closed *atomic.Int64) {
	closed = new(atomic.Int64)
	for _, nc := range conns {
		go func() {
			io.Copy(io.Discard, nc)
			closed.Add(1)
		}()
	}
	return closed
}

func TestMessagesBeforePublishAreSmallSoAFloodCostsTheServerLittle(t *testing.T) {
	srv := startServer(t, Settings{})
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// From many addresses (50 each), as a botnet: 200 connections start
	// an 8 MiB message before connect, 200 after connect, and 200 send
	// 48 KiB of a 60 KiB command, which is under the limit.
	const n = 200
	var big []net.Conn
	for i, kind := range []floodKind{floodBigBeforeConnect, floodBigAfterConnect} {
		conns, _, err := flood(ctx, srv.addr, n, kind, spread(byte(1+i), 50))
		defer closeAll(conns)
		if err != nil {
			t.Fatalf("%v: %v", kind, err)
		}
		big = append(big, conns...)
	}
	held, _, err := flood(ctx, srv.addr, n, floodUnderLimit, spread(3, 50))
	defer closeAll(held)
	if err != nil {
		t.Fatal(err)
	}

	// The server closes every connection that announced 8 MiB, at its
	// header...
	closed := closedByServer(big)
	until(ctx, func() bool { return !(closed.Load() < int64(len(big))) }, func() {
		t.Fatalf("the server kept %d of %d connections that announced an 8 MiB message before publishing", int64(len(big))-closed.Load(), len(big))
	})
	// ... and holds what the others sent: 48 KiB each, in buffers of at
	// most MaxMessageSizeBeforePublish per connection.
	until(ctx, func() bool { return !(srv.BufferedBytes() < n*48<<10) }, func() { t.Fatalf("the server holds %d bytes, less than the %d sent", srv.BufferedBytes(), n*48<<10) })
	limit := int64(n * srv.settings.Load().Limits.MaxMessageSizeBeforePublish)
	if b := srv.BufferedBytes(); b > limit {
		t.Fatalf("%d connections make the server buffer %d bytes, more than %d", n, b, limit)
	}
	// The heap agrees. Its bound is what the readers may hold (64 KiB a
	// connection held) plus as much again for each connection's other
	// state (read buffer, goroutine, structs: about 10 KiB) and for the
	// heap's fragmentation: 25 MiB. The same flood before these limits
	// held at least 256 KiB for each of the 400 large messages, 100 MiB.
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %.1f MiB; the readers hold %.1f MiB", float64(grown)/(1<<20), float64(srv.BufferedBytes())/(1<<20))
	if bound := int64(n * 128 << 10); grown > bound {
		t.Fatalf("the heap grew by %d bytes, more than %d", grown, bound)
	}

	closeAll(held)
	mediatest.Eventually(t, hangGuard, "the connections gone", func() bool { return srv.Connections() == 0 })
	if b := srv.BufferedBytes(); b != 0 {
		t.Fatalf("%d bytes still counted with every connection gone", b)
	}
}

func TestAPublisherMaySendLargeMessagesWithinItsBudget(t *testing.T) {
	const maxMessage = 256 << 10
	srv := startServer(t, Settings{Limits: Limits{MaxMessageSize: maxMessage}})
	t.Run("a message of MaxMessageSize reaches the players", func(t *testing.T) {
		pub := goPublish(t, srv, "large")
		player := goPlay(t, srv, "large")
		want := frame(0, maxMessage, true)
		if err := pub.WriteMessage(chunk.TypeVideo, 0, want); err != nil {
			t.Fatal(err)
		}
		for {
			if m := readMedia(t, player, chunk.TypeVideo); len(m.Payload) == maxMessage {
				break
			}
		}
	})
	t.Run("a message above MaxMessageSizeBeforePublish before publish ends the connection", func(t *testing.T) {
		c := rawDial(t, srv)
		c.connect("rtmp://" + srv.addr + "/live")
		c.nc.Write(chunk.AppendMessage(nil, 128, &chunk.Message{CSID: 6, Type: chunk.TypeVideo, StreamID: 1, Payload: make([]byte, 64<<10+1)}))
		awaitEOF(t, c.nc)
	})
	t.Run("partial messages beyond the budget end the connection", func(t *testing.T) {
		// MaxMessageSize + MaxMessageSizeBeforePublish = 320 KiB: two
		// messages of 200 KiB on two chunk streams cannot both be held.
		c := rawPublish(t, srv, "budget")
		for _, csid := range []byte{6, 8} {
			c.nc.Write(appendMessageStart(nil, csid, chunk.TypeVideo, 200<<10, 192<<10, 128))
		}
		awaitEOF(t, c.nc)
	})
}

// awaitEOF reads nc until the server closes it (hang guard: hangGuard).
func awaitEOF(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(hangGuard))
	if _, err := io.Copy(io.Discard, nc); err != nil && !isReset(err) {
		t.Fatalf("the connection stayed open: %v", err)
	}
}

// until waits, on a ticker, for cond to hold; fail is called if ctx ends
// first (a hang guard, not a time bound).
func until(ctx context.Context, cond func() bool, fail func()) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			fail()
			return
		case <-tick.C:
		}
	}
}

var countRE = regexp.MustCompile(` count=(\d+)`)

// logged returns how many lines of logs have msg and the sum of their
// counts.
func logged(logs, msg string) (lines, count int) {
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, "msg="+strconv.Quote(msg)) {
			continue
		}
		lines++
		if m := countRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			count += n
		}
	}
	return lines, count
}

// maxLines is how many lines a rate-limited log may write since start:
// one at once, one per interval, one at Close.
func maxLines(start time.Time) int { return 2 + int(time.Since(start)/floodLogInterval) }

func TestAFloodOfIdleConnectionsFromOneAddressLeavesRoomForRealClients(t *testing.T) {
	logs := &mediatest.SyncBuffer{}
	// Room for 200 connections, which the flood alone would fill; the
	// handshake timeout is long so that no connection of the flood ends
	// during the test and the counts are exact.
	srv := startServerLogging(t, Settings{MaxConnections: 200, Limits: Limits{HandshakeTimeout: time.Hour}},
		hub.Options{}, slog.New(slog.NewTextHandler(logs, nil)))
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()

	const n = 500
	attacker := net.IPv4(127, 0, 0, 2)
	conns, _, err := flood(ctx, srv.addr, n, floodIdle, from(attacker))
	defer closeAll(conns)
	if err != nil {
		t.Fatal(err)
	}
	// The server admits MaxNegotiatingPerIP of them and closes the
	// others at once.
	perIP := srv.settings.Load().MaxNegotiatingPerIP
	refused := n - perIP
	closed := closedByServer(conns)
	until(ctx, func() bool { return !(closed.Load() < int64(refused)) }, func() {
		t.Fatalf("%d of %d idle connections from one address refused, want %d", closed.Load(), n, refused)
	})
	if got := srv.Connections(); got != perIP {
		t.Fatalf("%d connections admitted, want %d", got, perIP)
	}

	// A publisher and a player from another address connect, and the
	// player gets media.
	pub := goPublish(t, srv, "real")
	player := goPlay(t, srv, "real")
	if err := pub.WriteMessage(chunk.TypeVideo, 0, frame(7, 1000, true)); err != nil {
		t.Fatal(err)
	}
	for {
		if m := readMedia(t, player, chunk.TypeVideo); len(m.Payload) == 1000 && m.Payload[6] == 7 {
			break
		}
	}
	// The publisher and the player no longer count as negotiating.
	srv.mu.Lock()
	negotiating := maps.Clone(srv.negotiating)
	srv.mu.Unlock()
	if want := map[netip.Prefix]int{netip.MustParsePrefix("127.0.0.2/32"): perIP}; !maps.Equal(negotiating, want) {
		t.Fatalf("negotiating %v, want %v", negotiating, want)
	}

	// One refusal line at once, then one per interval and one at Close,
	// whose counts add up to every refusal.
	closeAll(conns)
	srv.Close()
	lines, count := logged(logs.String(), "refusing connections")
	if lines == 0 || lines > maxLines(start) || count != refused {
		t.Fatalf("%d refusal lines counting %d refusals, want at most %d lines counting %d:\n%s", lines, count, maxLines(start), refused, logs)
	}
	t.Logf("%d refusals in %d lines", count, lines)
}

func TestOnlyConnectionsStillNegotiatingCountAgainstTheLimitPerAddress(t *testing.T) {
	srv := startServer(t, Settings{MaxNegotiatingPerIP: 2, Limits: Limits{HandshakeTimeout: time.Hour}})
	// Any number of clients from one address, each done negotiating
	// before the next.
	goPublish(t, srv, "s")
	for range 5 {
		goPlay(t, srv, "s")
	}
	admitted := func(ip net.IP) net.Conn {
		t.Helper()
		nc, _, err := floodConn(context.Background(), srv.addr, ip, floodIdle)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(hangGuard))
		if _, err := handshake.Client(nc); err != nil {
			t.Fatalf("a connection from %v was refused: %v", ip, err)
		}
		return nc
	}
	local := net.IPv4(127, 0, 0, 1)
	first := admitted(local)
	admitted(local)
	// A third connection negotiating from the same address is refused;
	// one from another address is not.
	nc, _, err := floodConn(context.Background(), srv.addr, local, floodIdle)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	awaitEOF(t, nc)
	admitted(net.IPv4(127, 0, 0, 3))
	// Once one of the two ends, the address may negotiate again.
	first.Close()
	mediatest.Eventually(t, hangGuard, "the closed connection gone", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.negotiating[netip.MustParsePrefix("127.0.0.1/32")] == 1
	})
	admitted(local)
	if n := srv.Connections(); n != 1+5+3 {
		t.Fatalf("%d connections, want 9", n)
	}
}

func TestConnectionsFailingBeforeConnectAreLoggedOncePerInterval(t *testing.T) {
	logs := &mediatest.SyncBuffer{}
	srv := startServerLogging(t, Settings{}, hub.Options{}, slog.New(slog.NewTextHandler(logs, nil)))
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	const n = 100
	conns, _, err := flood(ctx, srv.addr, n, floodGarbage, spread(1, 20))
	defer closeAll(conns)
	if err != nil {
		t.Fatal(err)
	}
	closed := closedByServer(conns)
	until(ctx, func() bool { return !(closed.Load() < n) }, func() { t.Fatalf("%d of %d connections sending garbage closed", closed.Load(), n) })
	mediatest.Eventually(t, hangGuard, "the connections gone", func() bool { return srv.Connections() == 0 })
	srv.Close()
	lines, count := logged(logs.String(), "connections failed before connect")
	if lines == 0 || lines > maxLines(start) || count != n {
		t.Fatalf("%d lines counting %d failures, want at most %d lines counting %d:\n%s", lines, count, maxLines(start), n, logs)
	}
	if !strings.Contains(logs.String(), "protocol violation") {
		t.Fatalf("the error is not logged:\n%s", logs)
	}
}

func TestConnectionsAreCountedByAddressOrIPv6Network(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 1935}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7/32"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 2}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 3, Zone: "eth0"}, "fe80::/64"},
		{&net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, "10.0.0.1/32"},
	}
	for _, tt := range tests {
		if got := sourceOf(tt.addr); got.String() != tt.want {
			t.Errorf("sourceOf(%v) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if got := sourceOf(pipeAddr{}); got.IsValid() {
		t.Errorf("an address without IP counted as %v", got)
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

func TestTheLimitsDefaults(t *testing.T) {
	st, err := Settings{Listen: []string{"127.0.0.1:0"}}.normalized()
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{
		HandshakeTimeout: 5 * time.Second, ConnectTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		MaxChunkSize: 64 << 10, MaxMessageSize: 8 << 20, MaxMessageSizeBeforePublish: 64 << 10, MaxStreamsPerConn: 8,
	}
	if st.Limits != want || st.MaxConnections != 1000 || st.MaxNegotiatingPerIP != 64 {
		t.Fatalf("defaults %+v, max connections %d, negotiating per IP %d", st.Limits, st.MaxConnections, st.MaxNegotiatingPerIP)
	}
	st, _ = Settings{Listen: []string{"127.0.0.1:0"}, MaxNegotiatingPerIP: -1, Limits: Limits{MaxMessageSize: 1000}}.normalized()
	if st.MaxNegotiatingPerIP != -1 || st.Limits.MaxMessageSizeBeforePublish != 1000 {
		t.Fatalf("no limit per IP: %d; before publish %d with MaxMessageSize 1000", st.MaxNegotiatingPerIP, st.Limits.MaxMessageSizeBeforePublish)
	}
}
