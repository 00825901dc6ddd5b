package app

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tidecast.dev/controlplane/internal/httpapi"
	"tidecast.dev/controlplane/internal/testpki"
)

func do(t *testing.T, method, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func TestBasicAuthGuardsOnlyAPIPathsAsSRSDoes(t *testing.T) {
	a, stop := startApp(t, confWith("auth { enabled on; username admin; password s3cret; }"))
	defer stop()
	api := "http://" + a.APIAddr()
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))
	for _, tc := range []struct {
		name      string
		method    string
		path      string
		header    map[string]string
		want      int
		challenge bool
	}{
		{"no credentials: 401 with a challenge", "GET", "/api/v1/versions", nil, 401, true},
		{"wrong password: 401 with a challenge", "GET", "/api/v1/versions", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:nope"))}, 401, true},
		{"not Basic: 401 without a challenge", "GET", "/api/v1/versions", map[string]string{"Authorization": "Bearer x"}, 401, false},
		{"right credentials pass", "GET", "/api/v1/versions", map[string]string{"Authorization": good}, 200, false},
		{"the root is not guarded", "GET", "/", nil, 200, false},
		{"a preflight needs no credentials", "OPTIONS", "/api/v1/clients/", map[string]string{"Origin": "http://elsewhere.test"}, 200, false},
		{"JSONP is refused under auth by default", "GET", "/api/v1/versions?callback=cb", map[string]string{"Authorization": good}, 403, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, tc.method, api+tc.path, tc.header)
			if res.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.want)
			}
			if got := res.Header.Get("WWW-Authenticate") == "Basic"; got != tc.challenge {
				t.Fatalf("challenge = %v, want %v", got, tc.challenge)
			}
		})
	}
}

func TestHTTPSServesTheAPIAndPicksUpARenewedCertificateOnReload(t *testing.T) {
	dir := t.TempDir()
	first := testpki.SelfSigned(t, dir, "first")
	cert, key := first.Cert, first.Key
	conf := confWith("raw_api { enabled on; allow_reload on; } https { enabled on; listen 127.0.0.1:0; key " + key + "; cert " + cert + "; }")
	a, stop := startApp(t, conf)
	defer stop()

	served := func(maxVersion uint16) (string, error) {
		conn, err := tls.Dial("tcp", a.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion})
		if err != nil {
			return "", err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
	}
	if cn, err := served(0); err != nil || cn != "first" {
		t.Fatalf("served %q, %v; want the first certificate", cn, err)
	}
	if _, err := served(tls.VersionTLS11); err == nil {
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Get("https://" + a.HTTPSAddr() + "/api/v1/versions")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(body), `{"code":0,`) {
		t.Fatalf("versions over HTTPS = %s", body)
	}
	client.CloseIdleConnections()

	// Renewal keeps the file names.
	renewed := testpki.SelfSigned(t, dir, "renewed")
	if err := os.Rename(renewed.Cert, cert); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(renewed.Key, key); err != nil {
		t.Fatal(err)
	}
	before := a.LastReload().RID
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	st := waitReload(t, a, before)
	if st.Err != 0 || st.State != 90 {
		t.Fatalf("reload = %+v, want success", st)
	}
	if cn, err := served(0); err != nil || cn != "renewed" {
		t.Fatalf("served %q, %v after reload; want the renewed certificate", cn, err)
	}
}

func TestAMissingCertificateFailsStartupClearly(t *testing.T) {
	conf := confWith("https { enabled on; listen 127.0.0.1:0; key /nonexistent/server.key; cert /nonexistent/server.crt; }")
	file := filepath.Join(t.TempDir(), "srs.conf")
	os.WriteFile(file, []byte(conf), 0o600)
	cfg, err := LoadConfig(Options{ConfigFile: file})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{ConfigFile: file}, cfg)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/server.crt") || !strings.Contains(err.Error(), "http_api.https") {
		t.Fatalf("New = %v, want an error naming http_api.https and the certificate file", err)
	}
}

// waitReload polls until a reload newer than the one with id before has
// finished.
func waitReload(t *testing.T, a *App, before string) httpapi.ReloadStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if st := a.LastReload(); st.RID != before {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatal("reload did not finish within 5 s")
		}
		<-tick.C
	}
}
