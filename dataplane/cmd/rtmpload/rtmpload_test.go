package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/mediatest"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/server"
)

// testStream is a synthetic 30 fps video (a keyframe a second) and 44.1
// kHz AAC stream, with metadata and sequence headers, in timestamp order.
func testStream(t *testing.T, seconds int) []tag {
	t.Helper()
	meta, err := amf0.Append(nil, "onMetaData", amf0.ECMAArray{{Key: "framerate", Value: 30.0}})
	if err != nil {
		t.Fatal(err)
	}
	tags := []tag{
		{typ: chunk.TypeDataAMF0, body: meta},
		{typ: chunk.TypeVideo, body: []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1e}},
		{typ: chunk.TypeAudio, body: []byte{0xaf, 0, 0x12, 0x10}},
	}
	for v, a := 0, 0; v < 30*seconds; {
		vts, ats := uint32(v*1000/30), uint32(a*1024*1000/44100)
		if vts <= ats {
			body := make([]byte, 2000)
			body[0], body[1] = 0x27, 1
			if v%30 == 0 {
				body[0] = 0x17
			}
			tags = append(tags, tag{typ: chunk.TypeVideo, ts: vts, body: body})
			v++
		} else {
			tags = append(tags, tag{typ: chunk.TypeAudio, ts: ats, body: []byte{0xaf, 1, 0x21, 0x10}})
			a++
		}
	}
	return tags
}

// writeFLV writes tags as an FLV file in a temporary directory.
func writeFLV(t *testing.T, tags []tag) string {
	t.Helper()
	b := []byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0}
	for _, tg := range tags {
		n := len(tg.body)
		b = append(b, tg.typ, byte(n>>16), byte(n>>8), byte(n), byte(tg.ts>>16), byte(tg.ts>>8), byte(tg.ts), byte(tg.ts>>24), 0, 0, 0)
		b = append(b, tg.body...)
		b = binary.BigEndian.AppendUint32(b, uint32(11+n))
	}
	file := filepath.Join(t.TempDir(), "test.flv")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestAnFLVFileIsReadBackAndLoopsOneFrameIntervalAfterItsLastFrame(t *testing.T) {
	want := testStream(t, 2)
	f, err := os.Open(writeFLV(t, want))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readFLV(f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b tag) bool { return a.typ == b.typ && a.ts == b.ts && bytes.Equal(a.body, b.body) }) {
		t.Fatalf("read %d tags back, want %d equal ones", len(got), len(want))
	}
	span, base, err := loopSpan(got)
	if err != nil || base != 0 || span != 1966+33 {
		t.Fatalf("span %d, base %d, %v; want 1999 from 0", span, base, err)
	}
	if _, err := readFLV(strings.NewReader("not an flv")); err == nil {
		t.Fatal("a file that is not FLV was read")
	}
}

func TestDelaysAreMeasuredFromEachPlayersBestMessage(t *testing.T) {
	early, late := &player{}, &player{}
	// early's messages arrive 5 ms after their timestamps, but for one
	// held back 40 ms more; late's all arrive 1 s after theirs.
	for ts := uint32(0); ts < 1000; ts += 10 {
		hold := int64(0)
		if ts == 500 {
			hold = 40
		}
		early.delays.record(int64(ts)+5+hold, ts)
		late.delays.record(int64(ts)+1000, ts)
	}
	got := delayFigures([]*player{early, late, {}})
	if want := (Delay{Messages: 200, P50: 0, P90: 0, P99: 0, Max: 40}); got != want {
		t.Fatalf("delays %+v, want %+v", got, want)
	}
	early.delays.record(100000, 0) // past the histogram's range: counted at its end
	if got := delayFigures([]*player{early}); got.Max != delayBuckets-1-(delayBuckets/2) {
		t.Fatalf("max %v for an out-of-range delay", got.Max)
	}
}

func TestVideoTimestampGapsCountTheFramesMissing(t *testing.T) {
	var p player
	frame := []byte{0x27, 1, 0, 0, 0}
	for _, ts := range []uint32{0, 33, 67, 100, 167, 200, 300, 333} {
		p.onVideo(ts, frame, 1000.0/30)
	}
	p.onVideo(366, []byte{0x17, 0, 0, 0, 0}, 1000.0/30) // a sequence header is no frame
	if v, d := p.video.Load(), p.dropped.Load(); v != 8 || d != 1+2 {
		t.Fatalf("%d frames, %d dropped; want 8 and 3", v, d)
	}
}

// The publisher and the players against the real server: every player
// gets every frame, across the seams of the looping file.
func TestPlayersGetEveryFrameOfTheLoopingPublisher(t *testing.T) {
	reg := registry.New(nil)
	h := hub.New(reg, hub.Options{})
	defer h.Close()
	srv, err := server.New(server.Settings{
		Listen: []string{"127.0.0.1:0"},
		Vhosts: map[string]server.VhostSettings{media.DefaultVhost: {Enabled: true, GopCache: true, MWLatency: 100 * time.Millisecond}},
	}, h, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	url := "rtmp://" + srv.Addrs()[0].String() + "/live/test"

	var pubOut, pubErr bytes.Buffer
	published := make(chan error, 1)
	pctx, stopPublishing := context.WithCancel(ctx)
	go func() {
		published <- run(pctx, []string{"-url", url, "-publish", writeFLV(t, testStream(t, 1)), "-duration", "0"}, &pubOut, &pubErr)
	}()
	waitFor(t, "the stream published", func() bool {
		s := reg.Snapshot().Streams
		return len(s) > 0 && s[0].Publishing
	})

	var out, stderr bytes.Buffer
	args := []string{"-url", url, "-players", "5", "-connect-interval", "1ms", "-duration", "3s", "-warmup", "500ms",
		"-watch-pid", strconv.Itoa(os.Getpid())}
	if err := run(ctx, args, &out, &stderr); err != nil {
		t.Fatalf("players: %v\n%s", err, stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	w := rep.Window
	if rep.Connected != 5 || rep.Disconnected != 0 || w.DroppedFrames != 0 || w.PlayerVideoFrames.Min < 60 || w.Mbps <= 0 {
		t.Fatalf("report %+v", rep)
	}
	if len(rep.PerPlayer) != 5 || rep.PerPlayer[0].State != "stopped" || rep.Server == nil || rep.Server.RSSKB == 0 {
		t.Fatalf("per player %+v, server %+v", rep.PerPlayer, rep.Server)
	}
	// A merged batch is written once it spans more than 100 ms, and the
	// publisher never sends ahead of time: its first message waited that.
	if d := rep.Delay; d.Messages < uint64(w.VideoFrames) || d.Max < 100 {
		t.Fatalf("delays %+v: want every window message, the longest over 100 ms", d)
	}

	stopPublishing()
	if err := <-published; err != nil {
		t.Fatalf("publisher: %v", err)
	}
	var pub PublishReport
	if err := json.Unmarshal(pubOut.Bytes(), &pub); err != nil || pub.Loops < 2 || pub.VideoFrames < 60 {
		t.Fatalf("publisher report %+v, %v", pub, err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func TestPlayersGetEveryFrameFromTheReferenceServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log mediatest.SyncBuffer
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"-reference", "127.0.0.1:0", "-publish", writeFLV(t, testStream(t, 1)), "-mw", "100ms", "-duration", "0"}, io.Discard, &log)
	}()
	listening := regexp.MustCompile(`reference listening addr=(\S+)`)
	waitFor(t, "the reference server listening", func() bool { return listening.MatchString(log.String()) })
	url := "rtmp://" + listening.FindStringSubmatch(log.String())[1] + "/live/test"

	var out, stderr bytes.Buffer
	if err := run(ctx, []string{"-url", url, "-players", "3", "-connect-interval", "1ms", "-duration", "2500ms", "-warmup", "500ms"}, &out, &stderr); err != nil {
		t.Fatalf("players: %v\n%s", err, stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 3 || rep.Window.DroppedFrames != 0 || rep.Window.PlayerVideoFrames.Min < 45 {
		t.Fatalf("report %+v", rep)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func TestTheAPIsRatesAreComparedWithWhatThePlayersReceived(t *testing.T) {
	cfg := &loadConfig{watchPID: 1, api: "http://api"}
	r := &Report{Connected: 2, Window: Figures{Mbps: 5}, PerPlayer: []PlayerFigures{
		{State: "stopped", WindowKbps: 2000}, {State: "stopped", WindowKbps: 3000}, {State: "failed"},
	}}
	at := time.Now()
	zero := serverSample{rssKB: 1000, goroutines: 10}
	from := serverSample{at: at, ticks: 100}
	to := serverSample{at: at.Add(10 * time.Second), ticks: 110, rssKB: 1100, goroutines: 12, streamSend: 5100, clientSend: []float64{3030, 1980}}
	s := serverFigures(cfg, zero, from, to, r)
	if s.CPUPercent != 1 || s.CPUPercentPerMbps != 0.2 || s.RSSPerPlayerKB != 50 || s.GoroutinesPerPlayer != 1 {
		t.Fatalf("server figures %+v", s)
	}
	// Sorted pairwise: 1980 against 2000 (1 %), 3030 against 3000 (1 %).
	if a := s.API; a.StreamErrorPercent != 2 || a.ClientErrorPercentMax != 1 || a.Clients != 2 {
		t.Fatalf("API figures %+v", a)
	}
}

// waitFor polls cond every 10 ms for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5 s: %s", what)
		}
		<-tick.C
	}
}
