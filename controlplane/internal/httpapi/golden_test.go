package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tidecast.dev/controlplane/internal/sysstats"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCases cover every route of the table, each resource's list, item
// and not-found answer, and the RAW API's rpcs.
var goldenCases = []struct {
	name, method, target string
	header               []string
}{
	{"root", "GET", "/", nil},
	{"api", "GET", "/api/", nil},
	{"v1", "GET", "/api/v1/", nil},
	{"versions", "GET", "/api/v1/versions", nil},
	{"versions_jsonp", "GET", "/api/v1/versions?callback=jQuery_1.2-x", nil},
	{"summaries", "GET", "/api/v1/summaries", nil},
	{"summaries_node", "GET", "/api/v1/summaries?node=edge-a", nil},
	{"summaries_unknown_node", "GET", "/api/v1/summaries?node=nope", nil},
	{"rusages", "GET", "/api/v1/rusages", nil},
	{"self_proc_stats", "GET", "/api/v1/self_proc_stats", nil},
	{"system_proc_stats", "GET", "/api/v1/system_proc_stats", nil},
	{"meminfos", "GET", "/api/v1/meminfos", nil},
	{"authors", "GET", "/api/v1/authors", nil},
	{"features", "GET", "/api/v1/features", nil},
	{"tests_requests", "POST", "/api/v1/tests/requests?vhost=demo.example", nil},
	{"tests_errors", "GET", "/api/v1/tests/errors", nil},
	{"tests_errors_host", "GET", "/api/v1/tests/errors", []string{"Host: error.srs.com:1985"}},
	{"tests_errors_jsonp", "GET", "/api/v1/tests/errors?callback=cb", nil},
	{"tests_redirects", "GET", "/api/v1/tests/redirects?a=b", nil},
	{"vhosts", "GET", "/api/v1/vhosts/", nil},
	{"vhost", "GET", "/api/v1/vhosts/vid-jub1ene", nil},
	{"vhost_unknown", "GET", "/api/v1/vhosts/vid-nope", nil},
	{"streams", "GET", "/api/v1/streams/", nil},
	{"stream", "GET", "/api/v1/streams/vid-v9l6512", nil},
	{"stream_waiting", "GET", "/api/v1/streams/vid-0waitin", nil},
	{"stream_unknown", "GET", "/api/v1/streams/vid-nope", nil},
	{"clients", "GET", "/api/v1/clients/", nil},
	{"client", "GET", "/api/v1/clients/58u20117", nil},
	{"client_flv", "GET", "/api/v1/clients/p48k4vd8", nil},
	{"client_escaped", "GET", "/api/v1/clients/z9y8x7w6", nil},
	{"client_unknown", "GET", "/api/v1/clients/nope", nil},
	{"client_kick", "DELETE", "/api/v1/clients/58u20117", nil},
	{"workers", "GET", "/api/v1/workers/", nil},
	{"worker", "GET", "/api/v1/workers/edge-a", nil},
	{"worker_unknown", "GET", "/api/v1/workers/nope", nil},
	{"raw", "GET", "/api/v1/raw?rpc=raw", nil},
	{"raw_reload", "GET", "/api/v1/raw?rpc=reload", nil},
	{"raw_reload_fetch", "GET", "/api/v1/raw?rpc=reload-fetch", nil},
	{"raw_query", "GET", "/api/v1/raw?rpc=query&scope=global", nil},
	{"clusters", "GET", "/api/v1/clusters?ip=1.2.3.4&vhost=__defaultVhost__&app=live&stream=livestream&coworker=127.0.0.1:1985", nil},
	{"clusters_unspecified_host", "GET", "/api/v1/clusters?vhost=example.com&app=live&stream=news&coworker=192.0.2.9:1985", nil},
	{"clusters_unknown_vhost", "GET", "/api/v1/clusters?vhost=unknown.vhost&app=live&stream=livestream", nil},
	{"clusters_miss", "GET", "/api/v1/clusters?ip=1.2.3.4&vhost=__defaultVhost__&app=live&stream=later", nil},
	{"metrics", "GET", "/metrics", nil},
	{"unknown_v1_path", "GET", "/api/v1/perf", nil},
}

// TestResponsesMatchGoldenFiles pins the status, type and body of every
// endpoint: keys, their order and their types are SRS's (§6).
func TestResponsesMatchGoldenFiles(t *testing.T) {
	h := New(testOptions(twoWorkers(t))).Handler()
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			w := serve(h, c.method, c.target, append([]string{"Host: 127.0.0.1:1985"}, c.header...)...)
			if isJSON(w) {
				_, err := shape(jsonBody(t, w))
				require.NoError(t, err, "the body is JSON as SRS prints it")
			}
			checkGolden(t, c.name, render(w))
		})
	}
}

// TestRealFiguresHaveTheGoldenShapes serves the system endpoints from the
// running process's samples: with every value normalised to its type, they
// must equal the golden files.
func TestRealFiguresHaveTheGoldenShapes(t *testing.T) {
	sampler := sysstats.New()
	_ = sampler.Update() // a container may lack a source; its group then reads zero, same shape
	r := twoWorkers(t)
	opts := testOptions(r)
	opts.Stats = sampler
	h := New(opts).Handler()
	for _, name := range []string{"summaries", "rusages", "self_proc_stats", "system_proc_stats", "meminfos"} {
		t.Run(name, func(t *testing.T) {
			golden, err := os.ReadFile(goldenPath(name))
			require.NoError(t, err)
			_, wantBody, _ := bytes.Cut(golden, []byte("\n\n"))
			want, err := shape(bytes.TrimSpace(wantBody))
			require.NoError(t, err)
			got, err := shape(jsonBody(t, serve(h, "GET", "/api/v1/"+name)))
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func isJSON(w *httptest.ResponseRecorder) bool {
	ct := w.Header().Get("Content-Type")
	return ct == "application/json" || ct == "text/javascript"
}

// jsonBody is the JSON of a response, unwrapped from its JSONP callback.
func jsonBody(t *testing.T, w *httptest.ResponseRecorder) []byte {
	t.Helper()
	body := w.Body.Bytes()
	if w.Header().Get("Content-Type") == "text/javascript" {
		open, closing := bytes.IndexByte(body, '('), bytes.LastIndexByte(body, ')')
		require.True(t, open > 0 && closing == len(body)-1, "JSONP body %q", body)
		body = body[open+1 : closing]
	}
	return body
}

// render is what a golden file holds: status, the headers that matter,
// and the body with the values that vary between machines normalised.
func render(w *httptest.ResponseRecorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d %s\n", w.Code, http.StatusText(w.Code))
	for _, k := range []string{"Content-Type", "Location"} {
		if v := w.Header().Get(k); v != "" {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.WriteString(strings.ReplaceAll(w.Body.String(), runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH, "GO_VERSION"))
	b.WriteString("\n")
	return b.String()
}

func goldenPath(name string) string { return filepath.Join("testdata", "golden", name+".txt") }

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := goldenPath(name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestResponsesMatchGoldenFiles -update to create it")
	assert.Equal(t, string(want), got)
}

// srsNumber is a number as SRS prints it: an integer, or two decimals.
var srsNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{2})?$`)

// shape re-encodes a JSON document with every value replaced by a
// placeholder of its type ("" for strings, 0 for integers, 0.00 for
// SRS's floats, false for booleans; null stays), keeping keys, their order
// and the nesting. It fails on a number SRS would not print.
func shape(doc []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var b strings.Builder
	type level struct{ object, wantKey, first bool }
	var stack []level
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		top := len(stack) - 1
		isKey := top >= 0 && stack[top].object && stack[top].wantKey
		if d, ok := tok.(json.Delim); !ok || d == '{' || d == '[' {
			if top >= 0 {
				if !stack[top].first && (isKey || !stack[top].object) {
					b.WriteByte(',')
				}
				stack[top].first = false
				if stack[top].object {
					stack[top].wantKey = !isKey
				}
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			b.WriteRune(rune(v))
			switch v {
			case '{', '[':
				stack = append(stack, level{object: v == '{', wantKey: true, first: true})
			default:
				stack = stack[:top]
			}
		case string:
			if isKey {
				b.WriteString(`"` + v + `":`)
			} else {
				b.WriteString(`""`)
			}
		case json.Number:
			if !srsNumber.MatchString(v.String()) {
				return "", errors.New("number not as SRS prints it: " + v.String())
			}
			if strings.Contains(v.String(), ".") {
				b.WriteString("0.00")
			} else {
				b.WriteString("0")
			}
		case bool:
			b.WriteString("false")
		case nil:
			b.WriteString("null")
		}
	}
}

func TestShapeKeepsKeysAndTypes(t *testing.T) {
	got, err := shape([]byte(`{"a":1,"b":[{"c":"x","d":1.50},true,null],"e":{}}`))
	require.NoError(t, err)
	assert.Equal(t, `{"a":0,"b":[{"c":"","d":0.00},false,null],"e":{}}`, got)
	_, err = shape([]byte(`{"a":1.5}`))
	assert.Error(t, err)
}
