package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

type apiStream struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Vhost   string `json:"vhost"`
	App     string `json:"app"`
	Clients int    `json:"clients"`
	Node    string `json:"node"`
	Publish struct {
		Active bool   `json:"active"`
		CID    string `json:"cid"`
	} `json:"publish"`
	Video *struct {
		Codec   string `json:"codec"`
		Profile string `json:"profile"`
		Width   int    `json:"width"`
		Height  int    `json:"height"`
	} `json:"video"`
	Audio *struct {
		Codec      string `json:"codec"`
		SampleRate int    `json:"sample_rate"`
	} `json:"audio"`
}

type apiClient struct {
	ID      string `json:"id"`
	Stream  string `json:"stream"`
	Type    string `json:"type"`
	Publish bool   `json:"publish"`
	Node    string `json:"node"`
	Kbps    struct {
		Recv30 int `json:"recv_30s"`
		Send30 int `json:"send_30s"`
	} `json:"kbps"`
}

func streams(t *testing.T, api string) []apiStream {
	var doc struct {
		Code    int         `json:"code"`
		Streams []apiStream `json:"streams"`
	}
	if err := getJSON(t, api, "/api/v1/streams/?count=100", &doc); err != nil || doc.Code != 0 {
		return nil
	}
	return doc.Streams
}

func clients(t *testing.T, api string) []apiClient {
	var doc struct {
		Code    int         `json:"code"`
		Clients []apiClient `json:"clients"`
	}
	if err := getJSON(t, api, "/api/v1/clients/?count=100", &doc); err != nil || doc.Code != 0 {
		return nil
	}
	return doc.Clients
}

func clientOfType(cs []apiClient, typ string) (apiClient, bool) {
	i := slices.IndexFunc(cs, func(c apiClient) bool { return c.Type == typ })
	if i < 0 {
		return apiClient{}, false
	}
	return cs[i], true
}

// kick deletes a client through the API and returns the answer's code.
func kick(t *testing.T, api, id string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+api+"/api/v1/clients/"+id, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct{ Code int }
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Code
}

// withExporter is a control-plane config serving /metrics.
func withExporter(conf string) string { return conf + "exporter { enabled on; }\n" }

var (
	metricClientsTotal = regexp.MustCompile(`(?m)^srs_clients_total (\d+)$`)
	metricClientsErrs  = regexp.MustCompile(`(?m)^srs_clients_errs_total (\d+)$`)
)

// clientCounters reads srs_clients_total and srs_clients_errs_total from
// /metrics; -1 when they cannot be read.
func clientCounters(t *testing.T, api string) (total, errs int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1, -1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	value := func(re *regexp.Regexp) int {
		m := re.FindSubmatch(body)
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return value(metricClientsTotal), value(metricClientsErrs)
}

// workerClientsTotal is a worker's clients_total in /api/v1/workers/; -1
// when it is not listed.
func workerClientsTotal(t *testing.T, api, node string) int {
	var doc workersDoc
	if err := getJSON(t, api, "/api/v1/workers/", &doc); err != nil || doc.Code != 0 {
		return -1
	}
	for _, w := range doc.Workers {
		if w.Node == node {
			return w.ClientsTotal
		}
	}
	return -1
}

func TestAStreamAndItsPlayerShowInTheAPIAndAKickThroughTheAPIClosesThePlayer(t *testing.T) {
	cp := startControlPlane(t, withExporter(confWith("")))
	w := startDataPlane(t, "worker-1", cp.fleet)
	url := "rtmp://" + rtmpAddr(t, w) + "/live/e2e"
	startPublisher(t, url)
	pl := startPlayer(t, url)
	pl.waitFrames(t, 30, 20*time.Second)

	var st apiStream
	eventually(t, 5*time.Second, "the stream with its codecs and two clients", func() bool {
		ss := streams(t, cp.api)
		if len(ss) != 1 || ss[0].Video == nil || ss[0].Audio == nil || ss[0].Clients != 2 {
			return false
		}
		st = ss[0]
		return true
	})
	if st.Name != "e2e" || st.App != "live" || st.Node != "worker-1" || !st.Publish.Active ||
		st.Video.Codec != "H264" || st.Video.Profile != "High" || st.Video.Width != 640 || st.Video.Height != 360 ||
		st.Audio.Codec != "AAC" {
		t.Fatalf("stream = %+v, video %+v, audio %+v", st, *st.Video, *st.Audio)
	}
	cs := clients(t, cp.api)
	pub, okPub := clientOfType(cs, "fmle-publish")
	play, okPlay := clientOfType(cs, "rtmp-play")
	if !okPub || !okPlay || pub.ID != st.Publish.CID || play.Stream != st.ID || !pub.Publish || play.Publish {
		t.Fatalf("clients = %+v, want the publisher (%s) and a player of stream %s", cs, st.Publish.CID, st.ID)
	}
	var one struct {
		Code   int       `json:"code"`
		Client apiClient `json:"client"`
	}
	if err := getJSON(t, cp.api, "/api/v1/clients/"+play.ID, &one); err != nil || one.Client.ID != play.ID {
		t.Fatalf("client by id = %+v, %v", one, err)
	}

	kicked := time.Now()
	if code := kick(t, cp.api, play.ID); code != 0 {
		t.Fatalf("kick answered code %d", code)
	}
	select {
	case <-pl.done:
		t.Logf("player exited %v after the kick was sent", time.Since(kicked))
	case <-time.After(5 * time.Second):
		t.Fatal("player still running 5 s after the kick")
	}
	eventually(t, 2*time.Second, "the kicked player gone from the API", func() bool {
		_, still := clientOfType(clients(t, cp.api), "rtmp-play")
		return !still
	})
	if code := kick(t, cp.api, play.ID); code != 2049 {
		t.Fatalf("second kick of the same client answered %d, want 2049", code)
	}

	// A kick is no client error. A third client's count comes in a sample
	// taken after the kick, so the error count it carries includes it.
	startPlayer(t, url)
	eventually(t, 10*time.Second, "srs_clients_total 3", func() bool {
		total, _ := clientCounters(t, cp.api)
		return total == 3
	})
	if _, errs := clientCounters(t, cp.api); errs != 0 {
		t.Fatalf("srs_clients_errs_total %d after a kick, want 0", errs)
	}
}

func TestAKilledWorkersStreamsAndClientsLeaveTheViewWithinThreeSeconds(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	w := startDataPlane(t, "doomed", cp.fleet)
	startPublisher(t, "rtmp://"+rtmpAddr(t, w)+"/live/doomed")
	eventually(t, 20*time.Second, "the stream listed", func() bool { return len(streams(t, cp.api)) == 1 })

	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	took := eventually(t, 3*time.Second, "streams, clients and worker gone", func() bool {
		return len(streams(t, cp.api)) == 0 && len(clients(t, cp.api)) == 0 && len(listedWorkers(t, cp.api)) == 0
	})
	t.Logf("gone %v after SIGKILL", took)
}

func TestAFrozenWorkerIsExpiredAndComesBackWhenItResumes(t *testing.T) {
	cp := startControlPlane(t, withExporter(confWith("")))
	w := startDataPlane(t, "sleepy", cp.fleet)
	startPublisher(t, "rtmp://"+rtmpAddr(t, w)+"/live/sleepy")
	eventually(t, 20*time.Second, "the stream listed and its publisher counted", func() bool {
		total, _ := clientCounters(t, cp.api)
		return len(streams(t, cp.api)) == 1 && total == 1
	})

	_ = w.cmd.Process.Signal(syscall.SIGSTOP)
	eventually(t, 5*time.Second, "the frozen worker expired", func() bool {
		return len(listedWorkers(t, cp.api)) == 0 && len(streams(t, cp.api)) == 0
	})
	if total, _ := clientCounters(t, cp.api); total != 1 {
		t.Fatalf("srs_clients_total %d once the worker expired, want its 1 client still", total)
	}
	_ = w.cmd.Process.Signal(syscall.SIGCONT)
	eventually(t, 5*time.Second, "the resumed worker and its stream back, reporting its client", func() bool {
		return slices.Equal(listedWorkers(t, cp.api), []string{"sleepy"}) && len(streams(t, cp.api)) == 1 &&
			workerClientsTotal(t, cp.api, "sleepy") == 1
	})
	if total, _ := clientCounters(t, cp.api); total != 1 {
		t.Fatalf("srs_clients_total %d after the worker came back with the same boot, want 1", total)
	}
}

func TestRestartingTheControlPlaneDropsNoMediaConnection(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	w := startDataPlane(t, "steady", cp.fleet)
	url := "rtmp://" + rtmpAddr(t, w) + "/live/steady"
	startPublisher(t, url)
	players := []*player{startPlayer(t, url), startPlayer(t, url)}
	for _, p := range players {
		p.waitFrames(t, 30, 20*time.Second)
	}
	eventually(t, 5*time.Second, "three clients listed", func() bool { return len(clients(t, cp.api)) == 3 })
	before := clients(t, cp.api)

	cp.stop()
	restarted := startControlPlane(t, confWith(cp.fleet))
	took := eventually(t, 2*time.Second, "the view complete again", func() bool {
		return len(clients(t, restarted.api)) == 3 && len(streams(t, restarted.api)) == 1
	})
	t.Logf("view complete %v after the restarted API came up", took)
	after := clients(t, restarted.api)
	for i := range before {
		if before[i].ID != after[i].ID {
			t.Fatalf("client ids changed across the restart: %v then %v", before, after)
		}
	}
	for _, p := range players {
		n := p.frames()
		p.waitFrames(t, n+30, 10*time.Second) // still receiving
	}
}

func TestTwoReplicasShowTheSameFleetAndEitherCanKick(t *testing.T) {
	a := startControlPlane(t, confWith(""))
	b := startControlPlane(t, confWith(""))
	w1 := startDataPlane(t, "worker-1", a.fleet, b.fleet)
	w2 := startDataPlane(t, "worker-2", a.fleet, b.fleet)
	url1 := "rtmp://" + rtmpAddr(t, w1) + "/live/one"
	startPublisher(t, url1)
	startPublisher(t, "rtmp://"+rtmpAddr(t, w2)+"/live/two")
	pl := startPlayer(t, url1)
	pl.waitFrames(t, 10, 20*time.Second)

	ids := func(api string) []string {
		var out []string
		for _, s := range streams(t, api) {
			out = append(out, s.ID+"@"+s.Node)
		}
		for _, c := range clients(t, api) {
			out = append(out, c.ID+"@"+c.Node)
		}
		return out
	}
	eventually(t, 5*time.Second, "both replicas listing 2 streams and 3 clients alike", func() bool {
		x, y := ids(a.api), ids(b.api)
		return len(x) == 5 && slices.Equal(x, y)
	})
	play, ok := clientOfType(clients(t, b.api), "rtmp-play")
	if !ok || play.Node != "worker-1" {
		t.Fatalf("player = %+v, want it on worker-1", play)
	}
	if code := kick(t, b.api, play.ID); code != 0 {
		t.Fatalf("kick through replica B answered %d", code)
	}
	select {
	case <-pl.done:
	case <-time.After(5 * time.Second):
		t.Fatal("player on worker-1 still running 5 s after a kick through replica B")
	}
}
