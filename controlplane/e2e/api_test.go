package e2e

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The API's documents as an SRS client reads them, with every field these
// tests check.

type kbpsDoc struct {
	Recv30  int `json:"recv_30s"`
	Send30  int `json:"send_30s"`
	RecvNow int `json:"recv_now"`
	SendNow int `json:"send_now"`
}

type streamDoc struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Vhost     string  `json:"vhost"`
	App       string  `json:"app"`
	TcURL     string  `json:"tcUrl"`
	URL       string  `json:"url"`
	Clients   int     `json:"clients"`
	Frames    int     `json:"frames"`
	RecvBytes int64   `json:"recv_bytes"`
	Kbps      kbpsDoc `json:"kbps"`
	Publish   struct {
		Active bool   `json:"active"`
		CID    string `json:"cid"`
	} `json:"publish"`
	Video *struct {
		Codec   string `json:"codec"`
		Profile string `json:"profile"`
		Level   string `json:"level"`
		Width   int    `json:"width"`
		Height  int    `json:"height"`
	} `json:"video"`
	Audio *struct {
		Codec      string `json:"codec"`
		SampleRate int    `json:"sample_rate"`
		Channel    int    `json:"channel"`
		Profile    string `json:"profile"`
	} `json:"audio"`
	Node string `json:"node"`
}

type clientDoc struct {
	ID      string  `json:"id"`
	Vhost   string  `json:"vhost"`
	Stream  string  `json:"stream"`
	IP      string  `json:"ip"`
	TcURL   string  `json:"tcUrl"`
	URL     string  `json:"url"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Publish bool    `json:"publish"`
	Alive   float64 `json:"alive"`
	Kbps    kbpsDoc `json:"kbps"`
	Node    string  `json:"node"`
}

type vhostDoc struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Enabled bool    `json:"enabled"`
	Clients int     `json:"clients"`
	Streams int     `json:"streams"`
	Kbps    kbpsDoc `json:"kbps"`
}

// apiList fetches a list (streams, clients or vhosts) and decodes the
// array under key; it reports false unless the answer has code 0.
func apiList[T any](t *testing.T, api, path, key string) ([]T, bool) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := getJSON(t, api, path, &doc); err != nil || string(doc["code"]) != "0" {
		return nil, false
	}
	var out []T
	return out, json.Unmarshal(doc[key], &out) == nil
}

// apiOne fetches one resource by id: its code, and the resource under key
// when the code is 0.
func apiOne[T any](t *testing.T, api, path, key string) (int, T) {
	t.Helper()
	var doc map[string]json.RawMessage
	var out T
	if err := getJSON(t, api, path, &doc); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	code, err := strconv.Atoi(string(doc["code"]))
	if err != nil {
		t.Fatalf("GET %s: no code in %v", path, doc)
	}
	if code == 0 {
		if err := json.Unmarshal(doc[key], &out); err != nil {
			t.Fatalf("GET %s: %q: %v", path, key, err)
		}
	}
	return code, out
}

// startCBRPublisher publishes testsrc 640x360 at 30 fps as H.264 Main 3.1
// at a constant 2500 kbit/s and AAC-LC 44.1 kHz stereo at 128 kbit/s (the
// toolbox's CBR command, with the profile, level and audio pinned so the
// test knows what the API must report), and ffmpeg's own progress every
// half second.
func startCBRPublisher(t *testing.T, url string) *proc {
	t.Helper()
	return start(t, "ffmpeg CBR publisher", "ffmpeg", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "60", "-pix_fmt", "yuv420p",
		"-profile:v", "main", "-level:v", "3.1",
		"-b:v", "2500k", "-minrate", "2500k", "-maxrate", "2500k", "-bufsize", "2500k", "-x264-params", "nal-hrd=cbr",
		"-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "2",
		"-progress", "pipe:1", "-stats_period", "0.5",
		"-f", "flv", url)
}

// progressSample is one report of ffmpeg's -progress: bytes written to the
// output by then, and the media time written.
type progressSample struct {
	bytes int64
	at    time.Duration
}

// progress parses ffmpeg's -progress reports so far (key=value lines, each
// report ended by progress=...).
func (p *proc) progress() []progressSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []progressSample
	var cur progressSample
	for _, l := range p.lines {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "total_size":
			cur.bytes, _ = strconv.ParseInt(v, 10, 64)
		case "out_time_us":
			us, _ := strconv.ParseInt(v, 10, 64)
			cur.at = time.Duration(us) * time.Microsecond
		case "progress":
			if cur.bytes > 0 && cur.at > 0 {
				out = append(out, cur)
			}
		}
	}
	return out
}

// bitrateOver is the publisher's own figure of what it sent over the last
// span of media time, in kbit/s.
func bitrateOver(t *testing.T, samples []progressSample, span time.Duration) float64 {
	t.Helper()
	if len(samples) < 2 {
		t.Fatalf("only %d progress reports from the publisher", len(samples))
	}
	last := samples[len(samples)-1]
	first := samples[0]
	for _, s := range samples {
		if last.at-s.at >= span {
			first = s
		}
	}
	if d := last.at - first.at; d < span-time.Second {
		t.Fatalf("the publisher's reports cover %v, want %v", d, span)
	}
	return float64(last.bytes-first.bytes) * 8 / 1000 / (last.at - first.at).Seconds()
}

func TestTheAPIDescribesRealStreamsAndClientsAndResolvesEachByID(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	w := startDataPlane(t, "worker-api", cp.fleet)
	addr := rtmpAddr(t, w)
	startCBRPublisher(t, "rtmp://"+addr+"/live/described")
	pl := startPlayer(t, "rtmp://"+addr+"/live/described")
	pl.waitFrames(t, 10, 20*time.Second)

	var st streamDoc
	eventually(t, 5*time.Second, "the stream with its codecs and both clients", func() bool {
		ss, _ := apiList[streamDoc](t, cp.api, "/api/v1/streams/", "streams")
		if len(ss) != 1 || ss[0].Video == nil || ss[0].Audio == nil || ss[0].Clients != 2 {
			return false
		}
		st = ss[0]
		return true
	})

	t.Run("the stream carries its codecs as the publisher set them", func(t *testing.T) {
		v, a := *st.Video, *st.Audio
		if v.Codec != "H264" || v.Profile != "Main" || v.Level != "3.1" || v.Width != 640 || v.Height != 360 {
			t.Errorf("video = %+v, want H264 Main 3.1 640x360", v)
		}
		if a.Codec != "AAC" || a.Profile != "LC" || a.SampleRate != 44100 || a.Channel != 2 {
			t.Errorf("audio = %+v, want AAC LC 44100 Hz, 2 channels", a)
		}
		if st.Name != "described" || st.App != "live" || st.URL != "/live/described" || st.TcURL != "rtmp://"+addr+"/live" ||
			!st.Publish.Active || st.Publish.CID == "" || st.Node != "worker-api" || !strings.HasPrefix(st.ID, "vid-") {
			t.Errorf("stream = %+v", st)
		}
	})

	t.Run("the clients carry their types and point at the stream and vhost", func(t *testing.T) {
		cs, _ := apiList[clientDoc](t, cp.api, "/api/v1/clients/", "clients")
		byType := map[string]clientDoc{}
		for _, c := range cs {
			byType[c.Type] = c
		}
		pub, play := byType["fmle-publish"], byType["rtmp-play"]
		if len(cs) != 2 || pub.ID != st.Publish.CID || !pub.Publish || play.ID == "" || play.Publish {
			t.Fatalf("clients = %+v, want the publisher %s (fmle-publish) and an rtmp-play", cs, st.Publish.CID)
		}
		for _, c := range cs {
			if c.Stream != st.ID || c.Vhost != st.Vhost || c.IP != "127.0.0.1" || c.URL != st.URL || c.Name != "described" ||
				c.TcURL != st.TcURL || c.Node != "worker-api" || c.Alive <= 0 {
				t.Errorf("client = %+v, want it on stream %s, vhost %s, from 127.0.0.1", c, st.ID, st.Vhost)
			}
		}
	})

	t.Run("the vhost counts the stream and its clients", func(t *testing.T) {
		vs, _ := apiList[vhostDoc](t, cp.api, "/api/v1/vhosts/", "vhosts")
		if len(vs) != 1 || vs[0].ID != st.Vhost || vs[0].Name != "__defaultVhost__" || !vs[0].Enabled ||
			vs[0].Streams != 1 || vs[0].Clients != 2 {
			t.Fatalf("vhosts = %+v, want __defaultVhost__ (%s) with 1 stream and 2 clients", vs, st.Vhost)
		}
	})

	t.Run("every id resolves to its own document, and unknown ids to SRS's codes", func(t *testing.T) {
		if code, one := apiOne[streamDoc](t, cp.api, "/api/v1/streams/"+st.ID, "stream"); code != 0 || one.ID != st.ID || one.Name != st.Name || one.Video == nil {
			t.Errorf("stream by id: code %d, %+v", code, one)
		}
		for _, c := range []string{st.Publish.CID, clientOfTypeDoc(t, cp.api, "rtmp-play").ID} {
			if code, one := apiOne[clientDoc](t, cp.api, "/api/v1/clients/"+c, "client"); code != 0 || one.ID != c || one.Stream != st.ID {
				t.Errorf("client %s by id: code %d, %+v", c, code, one)
			}
		}
		if code, one := apiOne[vhostDoc](t, cp.api, "/api/v1/vhosts/"+st.Vhost, "vhost"); code != 0 || one.ID != st.Vhost || one.Name != "__defaultVhost__" {
			t.Errorf("vhost by id: code %d, %+v", code, one)
		}
		for path, want := range map[string]int{
			"/api/v1/streams/vid-nope000": 2048,
			"/api/v1/clients/nope0000":    2049,
			"/api/v1/vhosts/vid-nope000":  2014,
		} {
			if code, _ := apiOne[struct{}](t, cp.api, path, ""); code != want {
				t.Errorf("GET %s: code %d, want %d", path, code, want)
			}
		}
	})
}

func clientOfTypeDoc(t *testing.T, api, typ string) clientDoc {
	t.Helper()
	cs, _ := apiList[clientDoc](t, api, "/api/v1/clients/", "clients")
	for _, c := range cs {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("no %s client in %+v", typ, cs)
	return clientDoc{}
}

func TestKbpsMatchTheRealBitrateOfACBRPublisherAfter35Seconds(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	w := startDataPlane(t, "worker-kbps", cp.fleet)
	url := "rtmp://" + rtmpAddr(t, w) + "/live/cbr"
	pub := startCBRPublisher(t, url)
	pl := startPlayer(t, url)
	pl.waitFrames(t, 10, 20*time.Second)

	// 35 s of traffic fill SRS's 30-second window with the steady state
	// (the player's burst from the GOP cache at its start is out of it).
	select {
	case <-time.After(35 * time.Second):
	case <-pub.done:
		t.Fatal("the publisher exited")
	case <-pl.done:
		t.Fatal("the player exited")
	}
	ss, _ := apiList[streamDoc](t, cp.api, "/api/v1/streams/", "streams")
	cs, _ := apiList[clientDoc](t, cp.api, "/api/v1/clients/", "clients")
	vs, _ := apiList[vhostDoc](t, cp.api, "/api/v1/vhosts/", "vhosts")
	sent := bitrateOver(t, pub.progress(), 30*time.Second)
	if len(ss) != 1 || len(cs) != 2 || len(vs) != 1 {
		t.Fatalf("streams %+v, clients %+v, vhosts %+v", ss, cs, vs)
	}
	within := func(what string, got int) {
		t.Helper()
		dev := (float64(got) - sent) / sent
		t.Logf("%s: %d kbit/s, publisher's own figure %.0f kbit/s (%+.1f%%)", what, got, sent, 100*dev)
		if math.Abs(dev) > 0.10 {
			t.Errorf("%s = %d kbit/s, want within 10%% of the publisher's %.0f kbit/s", what, got, sent)
		}
	}
	within("stream recv_30s", ss[0].Kbps.Recv30)
	within("vhost recv_30s", vs[0].Kbps.Recv30)
	for _, c := range cs {
		switch c.Type {
		case "fmle-publish":
			within("publisher recv_30s", c.Kbps.Recv30)
		case "rtmp-play":
			within("player send_30s", c.Kbps.Send30)
		}
	}
	t.Logf("current rates (recv_now/send_now, 5 s): stream recv %d, vhost send %d", ss[0].Kbps.RecvNow, vs[0].Kbps.SendNow)
}
