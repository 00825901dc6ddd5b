package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// confWithHTTPFLV is confWith("") with the workers' HTTP server on a port
// each worker picks (as the RTMP listen), HTTP-FLV on the default vhost
// and any extra vhosts.
func confWithHTTPFLV(extra string) string {
	return strings.Replace(confWith(""), "vhost __defaultVhost__ { }\n",
		"http_server { enabled on; listen 127.0.0.1:0; }\n"+
			"vhost __defaultVhost__ { http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }\n"+extra, 1)
}

var httpFLVListening = regexp.MustCompile(`msg=listening component=httpflv addr=(\S+)`)

// workerHTTP is the HTTP-FLV addresses /api/v1/workers/ lists for node;
// nil when the worker is not listed.
func workerHTTP(t *testing.T, api, node string) []string {
	var doc struct {
		Code    int `json:"code"`
		Workers []struct {
			Node string   `json:"id"`
			HTTP []string `json:"http"`
		} `json:"workers"`
	}
	if err := getJSON(t, api, "/api/v1/workers/", &doc); err != nil || doc.Code != 0 {
		return nil
	}
	for _, w := range doc.Workers {
		if w.Node == node {
			return w.HTTP
		}
	}
	return nil
}

// advertisedHTTPFLV waits for the worker's HTTP-FLV listener, then for the
// control plane to list that address as the worker's, and returns it.
func advertisedHTTPFLV(t *testing.T, cp *controlPlane, w *proc, node string) string {
	t.Helper()
	bound := w.waitLog(httpFLVListening, 10*time.Second)
	eventually(t, 5*time.Second, "the worker's HTTP-FLV address "+bound+" in /api/v1/workers/", func() bool {
		return slices.Equal(workerHTTP(t, cp.api, node), []string{bound})
	})
	return bound
}

// waitPublished waits until the API lists stream name of app live on the
// vhost named vhostName as published, with video and audio, and returns it.
func waitPublished(t *testing.T, api, vhostName, name string) streamDoc {
	t.Helper()
	var st streamDoc
	eventually(t, 20*time.Second, "stream "+name+" on "+vhostName+" published with video and audio", func() bool {
		ss, _ := apiList[streamDoc](t, api, "/api/v1/streams/?count=100", "streams")
		vs, _ := apiList[vhostDoc](t, api, "/api/v1/vhosts/", "vhosts")
		for _, s := range ss {
			if s.Name != name || s.App != "live" || !s.Publish.Active || s.Video == nil || s.Audio == nil {
				continue
			}
			for _, v := range vs {
				if v.ID == s.Vhost && v.Name == vhostName {
					st = s
					return true
				}
			}
		}
		return false
	})
	return st
}

// flvPlayer is an ffmpeg that reads a URL and decodes every frame of it,
// writing a line per decoded frame (framecrc) that the test counts.
type flvPlayer struct{ *proc }

func startFLVPlayer(t *testing.T, url string) *flvPlayer {
	t.Helper()
	return &flvPlayer{start(t, "ffmpeg HTTP-FLV player", "ffmpeg", "-nostdin", "-loglevel", "error",
		"-rw_timeout", "10000000", "-i", url, "-f", "framecrc", "-flush_packets", "1", "-")}
}

var (
	framecrcMediaType = regexp.MustCompile(`^#media_type (\d+): (\w+)$`)
	framecrcFrame     = regexp.MustCompile(`^(\d+),`)
)

// decoded counts the video and audio frames the player has decoded.
func (p *flvPlayer) decoded() (video, audio int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kind := map[string]string{}
	for _, l := range p.lines {
		if m := framecrcMediaType.FindStringSubmatch(l); m != nil {
			kind[m[1]] = m[2]
		} else if m := framecrcFrame.FindStringSubmatch(l); m != nil {
			switch kind[m[1]] {
			case "video":
				video++
			case "audio":
				audio++
			}
		}
	}
	return video, audio
}

func (p *flvPlayer) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitDecoded waits until the player has decoded at least n video and n
// audio frames.
func (p *flvPlayer) waitDecoded(t *testing.T, n int, within time.Duration) {
	t.Helper()
	eventually(t, within, "the HTTP-FLV player decoding "+strconv.Itoa(n)+" video and audio frames", func() bool {
		v, a := p.decoded()
		if p.exited() {
			t.Fatalf("the HTTP-FLV player exited after %d video and %d audio frames", v, a)
		}
		return v >= n && a >= n
	})
}

// flvClients are the API's flv-play clients.
func flvClients(t *testing.T, api string) []clientDoc {
	cs, _ := apiList[clientDoc](t, api, "/api/v1/clients/?count=100", "clients")
	var out []clientDoc
	for _, c := range cs {
		if c.Type == "flv-play" {
			out = append(out, c)
		}
	}
	return out
}

// httpGet requests url; the caller closes the body. The timeout only
// guards against a hang.
func httpGet(t *testing.T, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res
}

func TestAnRTMPStreamPlaysOverHTTPFLVFromTheAdvertisedAddressAndAKickEndsThePlayer(t *testing.T) {
	cp := startControlPlane(t, confWithHTTPFLV(""))
	w := startDataPlane(t, "worker-flv", cp.fleet)
	httpAddr := advertisedHTTPFLV(t, cp, w, "worker-flv")
	pub := startPublisher(t, "rtmp://"+rtmpAddr(t, w)+"/live/livestream")
	st := waitPublished(t, cp.api, "__defaultVhost__", "livestream")

	pl := startFLVPlayer(t, "http://"+httpAddr+"/live/livestream.flv")
	pl.waitDecoded(t, 60, 20*time.Second)

	var fc clientDoc
	eventually(t, 5*time.Second, "the HTTP-FLV player listed as flv-play", func() bool {
		cs := flvClients(t, cp.api)
		if len(cs) != 1 {
			return false
		}
		fc = cs[0]
		return true
	})
	if fc.Name != "livestream.flv" || fc.TcURL != "http://"+httpAddr+"/live" || fc.Stream != st.ID || fc.Vhost != st.Vhost ||
		fc.Publish || fc.Node != "worker-flv" || fc.IP != "127.0.0.1" {
		t.Fatalf("flv-play client = %+v, want livestream.flv, tcUrl http://%s/live, of stream %s on worker-flv", fc, httpAddr, st.ID)
	}
	eventually(t, 5*time.Second, "the stream counting its publisher and the HTTP-FLV player", func() bool {
		code, s := apiOne[streamDoc](t, cp.api, "/api/v1/streams/"+st.ID, "stream")
		return code == 0 && s.Clients == 2
	})

	if code := kick(t, cp.api, fc.ID); code != 0 {
		t.Fatalf("kick of the flv-play client answered code %d", code)
	}
	select {
	case <-pl.done:
		v, a := pl.decoded()
		t.Logf("the kicked HTTP-FLV player exited after decoding %d video and %d audio frames", v, a)
	case <-time.After(10 * time.Second): // a guard against a hang only
		t.Fatal("the HTTP-FLV player still running 10 s after the kick")
	}
	eventually(t, 5*time.Second, "the kicked player gone from the API", func() bool {
		return len(flvClients(t, cp.api)) == 0
	})
	if code := kick(t, cp.api, fc.ID); code != 2049 {
		t.Fatalf("a second kick of the same client answered %d, want 2049", code)
	}
	select {
	case <-pub.done:
		t.Fatal("the publisher exited with the kicked player")
	default:
	}
	if _, still := clientOfType(clients(t, cp.api), "fmle-publish"); !still {
		t.Fatal("the publisher left the API with the kicked player")
	}
}

func TestHTTPFLVServesAPublishedStreamAsChunkedFLVAndAnswers404ForAnyOther(t *testing.T) {
	cp := startControlPlane(t, confWithHTTPFLV(""))
	w := startDataPlane(t, "worker-404", cp.fleet)
	httpAddr := advertisedHTTPFLV(t, cp, w, "worker-404")

	for _, path := range []string{"/live/livestream.flv", "/live/livestream"} {
		res := httpGet(t, "http://"+httpAddr+path)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s with nothing published: %s, want 404", path, res.Status)
		}
	}

	startPublisher(t, "rtmp://"+rtmpAddr(t, w)+"/live/here")
	waitPublished(t, cp.api, "__defaultVhost__", "here")
	res := httpGet(t, "http://"+httpAddr+"/live/here.flv")
	head := make([]byte, 13) // FLV header and the first previous-tag-size
	_, err := io.ReadFull(res.Body, head)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "video/x-flv" ||
		!slices.Equal(res.TransferEncoding, []string{"chunked"}) || string(head[:3]) != "FLV" {
		t.Fatalf("GET /live/here.flv: %s, Content-Type %q, Transfer-Encoding %v, body %q (%v); want 200, video/x-flv, chunked, FLV",
			res.Status, res.Header.Get("Content-Type"), res.TransferEncoding, head, err)
	}

	for _, path := range []string{"/live/nobody.flv", "/other/here.flv", "/live/here"} {
		res := httpGet(t, "http://"+httpAddr+path)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s while /live/here is published: %s, want 404", path, res.Status)
		}
	}
	if cs := flvClients(t, cp.api); len(cs) != 0 {
		t.Errorf("flv-play clients after the requests ended: %+v", cs)
	}
}

func TestHTTPFLVPlaysTheStreamOfTheVhostTheQueryNames(t *testing.T) {
	cp := startControlPlane(t, confWithHTTPFLV("vhost v.example { http_remux { enabled on; } }\n"))
	w := startDataPlane(t, "worker-vhost", cp.fleet)
	httpAddr := advertisedHTTPFLV(t, cp, w, "worker-vhost")
	startPublisher(t, "rtmp://"+rtmpAddr(t, w)+"/live?vhost=v.example/s")
	st := waitPublished(t, cp.api, "v.example", "s")

	// The stream lives on v.example only.
	res := httpGet(t, "http://"+httpAddr+"/live/s.flv")
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /live/s.flv on the default vhost: %s, want 404", res.Status)
	}

	pl := startFLVPlayer(t, "http://"+httpAddr+"/live/s.flv?vhost=v.example")
	pl.waitDecoded(t, 30, 20*time.Second)
	eventually(t, 5*time.Second, "the player listed as flv-play of the v.example stream", func() bool {
		cs := flvClients(t, cp.api)
		return len(cs) == 1 && cs[0].Stream == st.ID && cs[0].Vhost == st.Vhost && cs[0].Name == "s.flv"
	})
}
