package app

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	fleetv1 "tidecast.dev/proto/fleet/v1"
)

func startApp(t *testing.T, conf string) (*App, func()) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "srs.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{ConfigFile: file}
	cfg, err := LoadConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(opts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	return a, func() {
		cancel()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of cancellation")
		}
	}
}

// confWith is a loopback configuration whose http_api block also holds
// apiExtra.
func confWith(apiExtra string) string {
	return `listen 127.0.0.1:0;
server_id vid-apptest;
http_api { enabled on; listen 127.0.0.1:0; ` + apiExtra + ` }
fleet { listen 127.0.0.1:0; token t0ken; }
`
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// A worker speaking the real contract joins, shows up in the API with its
// client, has that client kicked through the API, and everything stops
// cleanly.
func TestAControlPlaneServesAWorkerAndStopsWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t)
	a, stop := startApp(t, confWith(""))
	defer stop()

	conn, err := grpc.NewClient(a.FleetAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer t0ken"))
	defer cancel()
	stream, err := fleetv1.NewFleetClient(conn).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := func(m *fleetv1.WorkerMessage) {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	send(&fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{NodeId: "w1", BootId: "b1"}}})
	send(&fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Snapshot{Snapshot: &fleetv1.Snapshot{
		Seq:     1,
		Streams: []*fleetv1.Stream{{Id: "vid-abcdefg", Vhost: "__defaultVhost__", App: "live", Name: "s"}},
		Clients: []*fleetv1.Client{{Id: "c1234567", StreamId: "vid-abcdefg", Vhost: "__defaultVhost__", Type: "rtmp-play"}},
	}}})

	// The worker answers the kick when it comes down the stream.
	kicked := make(chan string, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			if k := m.GetKick(); k != nil {
				kicked <- k.GetClientId()
				_ = stream.Send(&fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_CommandResult{CommandResult: &fleetv1.CommandResult{CommandId: k.GetCommandId()}}})
			}
		}
	}()

	api := "http://" + a.APIAddr()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var doc struct {
			Clients []struct{ ID string } `json:"clients"`
		}
		getJSON(t, api+"/api/v1/clients/", &doc)
		if len(doc.Clients) == 1 && doc.Clients[0].ID == "c1234567" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client not listed within 5 s: %+v", doc)
		}
		<-tick.C
	}
	req, _ := http.NewRequest(http.MethodDelete, api+"/api/v1/clients/c1234567", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var kick struct{ Code int }
	json.NewDecoder(res.Body).Decode(&kick)
	res.Body.Close()
	if kick.Code != 0 {
		t.Fatalf("kick answered code %d, want 0", kick.Code)
	}
	if id := <-kicked; id != "c1234567" {
		t.Fatalf("worker was asked to kick %q", id)
	}
	cancel()
	conn.Close()
	http.DefaultClient.CloseIdleConnections()
}
