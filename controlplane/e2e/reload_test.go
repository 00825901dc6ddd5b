package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

type reloadState struct {
	Err   int    `json:"err"`
	Msg   string `json:"msg"`
	State int    `json:"state"`
	RID   string `json:"rid"`
}

// reloadFetch asks rpc=reload-fetch with optional Basic credentials.
func reloadFetch(t *testing.T, api, auth string) (reloadState, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+"/api/v1/raw?rpc=reload-fetch", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Data reloadState `json:"data"`
	}
	_ = json.NewDecoder(res.Body).Decode(&doc)
	return doc.Data, res.StatusCode
}

func TestReloadingWhilePlayersWatchDropsNoOneAndABadFileKeepsTheRunningConfig(t *testing.T) {
	base := strings.Replace(confWith(""), "http_api { enabled on; listen 127.0.0.1:0; }",
		"http_api { enabled on; listen 127.0.0.1:0; raw_api { enabled on; allow_reload on; } }", 1)
	cp := startControlPlane(t, base)
	file := cp.cmd.Args[2] // controlplane -c FILE
	w := startDataPlane(t, "worker-1", cp.fleet)
	url := "rtmp://" + rtmpAddr(t, w) + "/live/reload"
	startPublisher(t, url)
	players := []*player{startPlayer(t, url), startPlayer(t, url)}
	for _, p := range players {
		p.waitFrames(t, 30, 20*time.Second)
	}
	first, _ := reloadFetch(t, cp.api, "")

	// New credentials, crossdomain off and a new vhost whose settings the
	// worker must take.
	good := strings.Replace(base, "allow_reload on; }", "allow_reload on; } auth { enabled on; username ops; password n3w; }", 1) +
		"http_server { crossdomain off; }\nvhost live.example { play { mw_latency 100; } }\n"
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = cp.cmd.Process.Signal(syscall.SIGHUP)
	creds := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:n3w"))
	eventually(t, 5*time.Second, "the reload finished", func() bool {
		st, code := reloadFetch(t, cp.api, creds)
		return code == 200 && st.RID != first.RID && st.State == 90 && st.Err == 0
	})
	if _, code := reloadFetch(t, cp.api, ""); code != http.StatusUnauthorized {
		t.Fatalf("without credentials after the reload: %d, want 401", code)
	}
	eventually(t, 5*time.Second, "the worker applying the new vhost settings", func() bool {
		return w.countLog(regexpAppliedConfig) >= 2
	})

	// A bad file: refused, reported, and the running config stays.
	if err := os.WriteFile(file, []byte(good+"vhost broken {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = cp.cmd.Process.Signal(syscall.SIGHUP)
	var bad reloadState
	eventually(t, 5*time.Second, "the failed reload reported", func() bool {
		bad, _ = reloadFetch(t, cp.api, creds)
		return bad.Err != 0
	})
	if bad.Err != 1023 || !strings.Contains(bad.Msg, "srs.conf") {
		t.Fatalf("reload-fetch = %+v, want err 1023 naming the file", bad)
	}

	for _, p := range players {
		n := p.frames()
		p.waitFrames(t, n+30, 10*time.Second)
	}
	if n := len(clients(t, cp.api)); n != 0 {
		t.Fatalf("the API answered without credentials after a failed reload (%d clients)", n)
	}
}
