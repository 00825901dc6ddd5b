package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	fleetv1 "tidecast.dev/proto/fleet/v1"
)

func TestAReloadAppliesAGoodConfigAndKeepsItWhenTheNextIsBad(t *testing.T) {
	a, stop := startApp(t, confWith("raw_api { enabled on; allow_reload on; }"))
	defer stop()
	api := "http://" + a.APIAddr()
	file := a.opts.ConfigFile

	if res := do(t, "GET", api+"/api/v1/versions", nil); res.StatusCode != 200 {
		t.Fatalf("before reload: %d", res.StatusCode)
	}
	// New credentials, crossdomain off and a new vhost.
	good := confWith("raw_api { enabled on; allow_reload on; } auth { enabled on; username ops; password n3w; }") +
		"http_server { crossdomain off; }\nvhost live.example { play { mw_latency 100; } }\n"
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	before := a.LastReload().RID
	if res := do(t, "GET", api+"/api/v1/raw?rpc=reload", nil); res.StatusCode != 200 {
		t.Fatalf("rpc=reload: %d", res.StatusCode)
	}
	if st := waitReload(t, a, before); st.Err != 0 || st.State != 90 || st.Msg != "Success" {
		t.Fatalf("reload = %+v, want success", st)
	}
	creds := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:n3w"))}
	if res := do(t, "GET", api+"/api/v1/versions", nil); res.StatusCode != 401 {
		t.Fatalf("after reload without credentials: %d, want 401", res.StatusCode)
	}
	if res := do(t, "GET", api+"/api/v1/versions", creds); res.StatusCode != 200 {
		t.Fatalf("after reload with the new credentials: %d, want 200", res.StatusCode)
	}
	if res := do(t, "OPTIONS", api+"/api/v1/versions", map[string]string{"Origin": "http://x.test"}); res.StatusCode != 405 {
		t.Fatalf("preflight with crossdomain off: %d, want 405", res.StatusCode)
	}
	if _, ok := a.cfg.Load().Vhost("live.example"); !ok {
		t.Fatal("the new vhost is not in force")
	}

	// A bad file: the running configuration stays and reload-fetch says why.
	if err := os.WriteFile(file, []byte(good+"bogus_directive on;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before = a.LastReload().RID
	if res := do(t, "GET", api+"/api/v1/raw?rpc=reload", creds); res.StatusCode != 200 {
		t.Fatalf("rpc=reload: %d", res.StatusCode)
	}
	waitReload(t, a, before)
	req, _ := http.NewRequest("GET", api+"/api/v1/raw?rpc=reload-fetch", nil)
	req.Header.Set("Authorization", creds["Authorization"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var fetch struct {
		Code int `json:"code"`
		Data struct {
			Err   int    `json:"err"`
			Msg   string `json:"msg"`
			State int    `json:"state"`
			RID   string `json:"rid"`
		} `json:"data"`
	}
	json.NewDecoder(res.Body).Decode(&fetch)
	res.Body.Close()
	if fetch.Data.Err != 1023 || !strings.Contains(fetch.Data.Msg, "bogus_directive") || fetch.Data.RID == "" {
		t.Fatalf("reload-fetch = %+v, want err 1023 naming bogus_directive", fetch)
	}
	if res := do(t, "GET", api+"/api/v1/versions", creds); res.StatusCode != 200 {
		t.Fatalf("after a failed reload the previous credentials stopped working: %d", res.StatusCode)
	}
}

// http_server and http_remux are worker settings: the first config a worker
// gets carries them, and a reload that changes them pushes a new one.
func TestAReloadOfTheHTTPServerOrHTTPRemuxIsPushedToTheWorkers(t *testing.T) {
	conf := func(listen, mount string) string {
		return confWith("") + "http_server { enabled on; listen " + listen + "; }\n" +
			"vhost __defaultVhost__ { http_remux { enabled on; mount " + mount + "; } }\n"
	}
	a, stop := startApp(t, conf("127.0.0.1:8081", "[vhost]/[app]/[stream].flv"))
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
	if err := stream.Send(&fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{NodeId: "w1", BootId: "b1"}}}); err != nil {
		t.Fatal(err)
	}
	nextConfig := func() *fleetv1.Config {
		t.Helper()
		for {
			m, err := stream.Recv()
			if err != nil {
				t.Fatalf("no config: %v", err)
			}
			if c := m.GetConfig(); c != nil {
				return c
			}
		}
	}
	remux := func(c *fleetv1.Config) (bool, string) {
		for _, v := range c.GetVhosts() {
			if v.GetName() == "__defaultVhost__" {
				return v.GetHttpRemuxEnabled(), v.GetHttpRemuxMount()
			}
		}
		return false, ""
	}

	first := nextConfig()
	if hs := first.GetHttpServer(); !hs.GetEnabled() || hs.GetListen() != "127.0.0.1:8081" {
		t.Fatalf("http_server pushed = %v, want enabled on 127.0.0.1:8081", hs)
	}
	if on, mount := remux(first); !on || mount != "[vhost]/[app]/[stream].flv" {
		t.Fatalf("http_remux pushed = %v %q, want on with SRS's mount", on, mount)
	}

	if err := os.WriteFile(a.opts.ConfigFile, []byte(conf("127.0.0.1:8082", "[app]/[stream].flv")), 0o600); err != nil {
		t.Fatal(err)
	}
	before := a.LastReload().RID
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if st := waitReload(t, a, before); st.Err != 0 {
		t.Fatalf("reload = %+v, want success", st)
	}
	next := nextConfig()
	if next.GetVersion() == first.GetVersion() || next.GetHttpServer().GetListen() != "127.0.0.1:8082" {
		t.Fatalf("after reload: version %d (was %d), http_server %v; want a new version on 127.0.0.1:8082",
			next.GetVersion(), first.GetVersion(), next.GetHttpServer())
	}
	if _, mount := remux(next); mount != "[app]/[stream].flv" {
		t.Fatalf("http_remux mount after reload = %q, want [app]/[stream].flv", mount)
	}
}
