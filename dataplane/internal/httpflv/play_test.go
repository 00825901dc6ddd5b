package httpflv_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tidecast.dev/dataplane/internal/flv"
	"tidecast.dev/dataplane/internal/httpflv"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/mediatest"
	"tidecast.dev/dataplane/internal/registry"
	"tidecast.dev/dataplane/internal/rtmp/client"
	"tidecast.dev/dataplane/internal/rtmp/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// worker is a hub with an RTMP and an HTTP-FLV server, as app builds them.
type worker struct {
	reg        *registry.Registry
	rtmp, http string // addresses
	flv        *httpflv.Server
}

func startWorker(t *testing.T, vhosts map[string]httpflv.VhostSettings, maxConns int) *worker {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections) // after the server closed
	reg := registry.New(nil)
	h := hub.New(reg, hub.Options{})
	rtmpVhosts := map[string]server.VhostSettings{}
	for name, v := range vhosts {
		rtmpVhosts[name] = server.VhostSettings{Enabled: v.Enabled, GopCache: true}
	}
	rs, err := server.New(server.Settings{Listen: []string{"127.0.0.1:0"}, Vhosts: rtmpVhosts}, h, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := httpflv.New(httpflv.Settings{Listen: []string{"127.0.0.1:0"}, Vhosts: vhosts, MaxConnections: maxConns}, h, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- rs.Run(ctx) }()
	go func() { done <- fs.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		h.Close()
	})
	return &worker{reg: reg, rtmp: rs.Addrs()[0].String(), http: fs.Addrs()[0].String(), flv: fs}
}

func (w *worker) flvURL(path string) string { return "http://" + w.http + "/" + path }

func (w *worker) awaitPublisher(t *testing.T) {
	mediatest.Eventually(t, 10*time.Second, "ffmpeg publishing", func() bool {
		return len(mediatest.ClientsOf(w.reg, media.FMLEPublish)) == 1
	})
}

func TestFFmpegPlaysAnRTMPStreamOverHTTPFLV(t *testing.T) {
	w := startWorker(t, nil, 0)
	mediatest.FFmpegPublish(t, "rtmp://"+w.rtmp+"/live/test")
	w.awaitPublisher(t)

	player := mediatest.FFmpegPlay(t, w.flvURL("live/test.flv"))
	mediatest.Eventually(t, 15*time.Second, "the HTTP-FLV player decoding 60 video and 60 audio frames", func() bool {
		v, a := player.Counts()
		return v >= 60 && a >= 60
	})
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,channels",
		"-of", "compact=p=0", w.flvURL("live/test.flv")).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	if got := string(out); !strings.Contains(got, "codec_name=h264|width=640|height=360") || !strings.Contains(got, "codec_name=aac") {
		t.Fatalf("ffprobe found %q", got)
	}

	players := mediatest.ClientsOf(w.reg, media.FLVPlay)
	if len(players) != 1 {
		t.Fatalf("flv players %+v", players)
	}
	p := players[0]
	want := media.StreamKey{Vhost: media.DefaultVhost, App: "live", Name: "test"}
	if p.Key != want || p.RequestedName != "test.flv" || p.TcURL != "http://"+w.http+"/live" || p.IP != "127.0.0.1" {
		t.Fatalf("player %+v", p)
	}
	sent := func() uint64 {
		for _, c := range w.reg.Sample().Clients {
			if c.ID == p.ID {
				return c.SendBytes
			}
		}
		return 0
	}
	before := sent()
	mediatest.Eventually(t, 5*time.Second, "the player's bytes counted", func() bool { return sent() > before && before > 0 })

	// A kick closes the player's connection: ffmpeg ends.
	if err := w.reg.Kick(p.ID); err != nil {
		t.Fatal(err)
	}
	player.WaitExit(t, 10*time.Second)
	mediatest.Eventually(t, 5*time.Second, "the kicked player gone", func() bool { return len(mediatest.ClientsOf(w.reg, media.FLVPlay)) == 0 })
}

// tags reads an HTTP-FLV response's tags.
func tags(t *testing.T, resp *http.Response) *flv.Reader {
	t.Helper()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/x-flv" ||
		len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("response %d %v %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	return flv.NewReader(resp.Body, 0)
}

func TestALateJoinerStartsWithTheMetadataTheConfigurationsAndTheGOP(t *testing.T) {
	w := startWorker(t, nil, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pub, err := client.Dial(ctx, "rtmp://"+w.rtmp+"/live")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	meta := []byte{2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 8, 0, 0, 0, 0, 0, 0, 9}
	msgs := []struct {
		typ  uint8
		ts   uint32
		body []byte
	}{
		{flv.TagScript, 0, meta},
		{flv.TagVideo, 0, []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1e, 0xff, 0xe0, 0}},
		{flv.TagAudio, 0, []byte{0xaf, 0, 0x12, 0x10}},
		{flv.TagVideo, 0, []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}},
		{flv.TagVideo, 33, []byte{0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41}},
		{flv.TagVideo, 66, []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}}, // the GOP starts here
		{flv.TagAudio, 70, []byte{0xaf, 1, 0x21}},
		{flv.TagVideo, 100, []byte{0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41}},
	}
	for _, m := range msgs {
		if err := pub.WriteMessage(m.typ, m.ts, m.body); err != nil {
			t.Fatal(err)
		}
	}
	mediatest.Eventually(t, 5*time.Second, "the publisher's messages taken in", func() bool {
		s := w.reg.Sample()
		return len(s.Streams) == 1 && s.Streams[0].Frames == 4
	})

	r := tags(t, do(t, request("GET", w.flvURL("live/late.flv"), "")))
	for i, want := range append(msgs[:3:3], msgs[5:]...) {
		tag, err := r.Next()
		if err != nil {
			t.Fatalf("tag %d: %v", i, err)
		}
		if tag.Type != want.typ || tag.Timestamp != want.ts || !bytes.Equal(tag.Body, want.body) {
			t.Fatalf("tag %d: %d at %d %x, want %d at %d %x", i, tag.Type, tag.Timestamp, tag.Body, want.typ, want.ts, want.body)
		}
	}

	// The publisher leaves: the response ends.
	pub.Close()
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after unpublish: %v", err)
	}
	mediatest.Eventually(t, 5*time.Second, "the ended player gone", func() bool { return len(mediatest.ClientsOf(w.reg, media.FLVPlay)) == 0 })
}

func TestVhostsComeFromTheHostOrTheQueryAsForRTMP(t *testing.T) {
	w := startWorker(t, map[string]httpflv.VhostSettings{
		media.DefaultVhost: {Enabled: true, Remux: true},
		"v.example":        {Enabled: true, Remux: true, Mount: "[vhost]/flv/[app]/[stream].flv"},
		"dark.example":     {Enabled: true, Remux: false},
	}, 0)
	mediatest.FFmpegPublish(t, "rtmp://"+w.rtmp+"/live?vhost=v.example/vs")
	w.awaitPublisher(t)
	get := func(host, path string) *http.Response {
		req := request("GET", w.flvURL(path), "")
		req.Host = host
		return do(t, req)
	}
	for _, ok := range []*http.Response{get("v.example:8080", "flv/live/vs.flv"), get(w.http, "flv/live/vs.flv?vhost=v.example")} {
		if _, err := tags(t, ok).Next(); err != nil {
			t.Fatalf("first tag: %v", err)
		}
	}
	for name, resp := range map[string]*http.Response{
		"another vhost's mount":        get("v.example", "live/vs.flv"),
		"the default vhost":            get(w.http, "live/vs.flv"),
		"a vhost without http_remux":   get("dark.example", "live/vs.flv"),
		"a stream that is not there":   get("v.example", "flv/live/none.flv"),
		"a path that is no FLV stream": get(w.http, "live/vs"),
	} {
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
}

// do sends req; the test's cleanup closes the response.
func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func request(method, url, origin string) *http.Request {
	req, _ := http.NewRequest(method, url, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return req
}

func TestRequestsThatCannotPlayAreAnsweredAtOnce(t *testing.T) {
	w := startWorker(t, nil, 1)
	if resp := do(t, request("GET", w.flvURL("live/none.flv"), "")); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown stream: %v", resp)
	}
	if len(w.reg.Snapshot().Streams) != 0 {
		t.Fatal("asking for an unknown stream opened it")
	}
	if resp := do(t, request("POST", w.flvURL("live/none.flv"), "")); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %v", resp)
	}
	resp := do(t, request("OPTIONS", w.flvURL("live/none.flv"), "http://page.example"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %v", resp)
	}

	mediatest.FFmpegPublish(t, "rtmp://"+w.rtmp+"/live/one")
	w.awaitPublisher(t)
	first := do(t, request("GET", w.flvURL("live/one.flv"), "http://page.example"))
	if first.Header.Get("Access-Control-Allow-Origin") != "*" || first.Header.Get("Access-Control-Expose-Headers") != "*" {
		t.Fatalf("no CORS headers on the stream: %v", first.Header)
	}
	tags(t, first)
	mediatest.Eventually(t, 5*time.Second, "the first player counted", func() bool { return w.flv.Players() == 1 })
	if second := do(t, request("GET", w.flvURL("live/one.flv"), "")); second.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("beyond max_connections: %v", second)
	}
}

// A player that stops reading is cut off without slowing the publisher's
// other players; the worker never blocks on it.
func TestAPlayerThatNeverReadsDoesNotHoldTheStream(t *testing.T) {
	w := startWorker(t, nil, 0)
	mediatest.FFmpegPublish(t, "rtmp://"+w.rtmp+"/live/slow")
	w.awaitPublisher(t)
	nc, err := net.Dial("tcp", w.http)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte("GET /live/slow.flv HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	player := mediatest.FFmpegPlay(t, w.flvURL("live/slow.flv"))
	mediatest.Eventually(t, 15*time.Second, "the reading player decoding", func() bool {
		v, a := player.Counts()
		return v >= 60 && a >= 60
	})
	if n := len(mediatest.ClientsOf(w.reg, media.FLVPlay)); n != 2 {
		t.Fatalf("%d flv players", n)
	}
}
