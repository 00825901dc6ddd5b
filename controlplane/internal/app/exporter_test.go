package app

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(body)
}

// exporter { enabled on; listen ...; } serves /metrics on its own port, as
// SRS does, and the API port keeps serving it too.
func TestTheExporterServesMetricsOnItsOwnPort(t *testing.T) {
	a, stop := startApp(t, confWith("")+"exporter { enabled on; listen 127.0.0.1:0; label cn-beijing; }\n")
	defer stop()
	defer http.DefaultClient.CloseIdleConnections()
	if a.ExporterAddr() == "" || a.ExporterAddr() == a.APIAddr() {
		t.Fatalf("exporter address %q (API %q)", a.ExporterAddr(), a.APIAddr())
	}
	for _, addr := range []string{a.ExporterAddr(), a.APIAddr()} {
		code, ctype, body := get(t, "http://"+addr+"/metrics")
		if code != 200 || !strings.HasPrefix(ctype, "text/plain") ||
			!strings.Contains(body, "# TYPE srs_build_info gauge") || !strings.Contains(body, `label="cn-beijing"`) {
			t.Errorf("GET %s/metrics: %d %q\n%s", addr, code, ctype, body)
		}
	}
	// Only /metrics: the API stays on its own port.
	if code, _, _ := get(t, "http://"+a.ExporterAddr()+"/api/v1/versions"); code != 404 {
		t.Errorf("GET /api/v1/versions on the exporter port: %d, want 404", code)
	}
}

func TestADisabledExporterOpensNoPort(t *testing.T) {
	a, stop := startApp(t, confWith("")+"exporter { enabled off; listen 127.0.0.1:0; }\n")
	defer stop()
	if a.ExporterAddr() != "" {
		t.Errorf("exporter listening on %q while disabled", a.ExporterAddr())
	}
}

// The id persisted next to the pid file goes into every response, as
// server_id does, so it is held to the same rule.
func TestAPersistedServerIDIsValidated(t *testing.T) {
	dir := t.TempDir()
	pid := filepath.Join(dir, "srs.pid")
	if err := os.WriteFile(filepath.Join(dir, "srs.id"), []byte("vid-\x00bad"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := serverID("", pid); err == nil || !strings.Contains(err.Error(), "srs.id") {
		t.Fatalf("serverID with a NUL in the id file: %v, want an error naming the file", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "srs.id"), []byte("vid-good123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if id, err := serverID("", pid); err != nil || id != "vid-good123" {
		t.Fatalf("serverID = %q, %v", id, err)
	}
}
