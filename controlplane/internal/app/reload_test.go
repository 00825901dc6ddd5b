package app

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
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
