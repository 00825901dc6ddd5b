package httpflv

import (
	"maps"
	"strings"
	"testing"
)

func TestMountsMatchPathsAsSRSDoes(t *testing.T) {
	tests := []struct {
		mount, path string
		want        map[string]string // nil: no match
	}{
		{DefaultMount, "/live/livestream.flv", map[string]string{"app": "live", "stream": "livestream"}},
		{DefaultMount, "/live/a.b.flv", map[string]string{"app": "live", "stream": "a.b"}},
		{DefaultMount, "/live/livestream", nil},
		{DefaultMount, "/live/sub/s.flv", nil},
		{DefaultMount, "//s.flv", nil},
		{DefaultMount, "/live/.flv", nil},
		{"[app]/[stream].flv", "/live/s.flv", map[string]string{"app": "live", "stream": "s"}},
		{"/flv/[app]/[stream].flv", "/flv/live/s.flv", map[string]string{"app": "live", "stream": "s"}},
		{"/flv/[app]/[stream].flv", "/live/s.flv", nil},
		{"/[vhost]/[app]/[stream].flv", "/v.com/live/s.flv", map[string]string{"vhost": "v.com", "app": "live", "stream": "s"}},
		{"/live/[stream].flv", "/live/s.flv", map[string]string{"stream": "s"}},
	}
	for _, tt := range tests {
		m, err := parseMount(tt.mount)
		if err != nil {
			t.Fatalf("%s: %v", tt.mount, err)
		}
		got, ok := m.match(tt.path)
		if ok != (tt.want != nil) || (ok && !maps.Equal(got, tt.want)) {
			t.Errorf("%s on %s: %v %v, want %v", tt.mount, tt.path, got, ok, tt.want)
		}
	}
}

func TestMountsThatCannotServeFLVAreRefused(t *testing.T) {
	for _, m := range []string{"[vhost]/[app]/[stream].ts", "/live/s.flv", "[app][stream].flv", "/[bogus]/[stream].flv", "/[app/[stream].flv"} {
		if _, err := parseMount(m); err == nil {
			t.Errorf("%q accepted", m)
		}
	}
}

// FuzzMount matches hostile paths against hostile mounts: no panic, and
// a match fills only non-empty variables without '/'.
func FuzzMount(f *testing.F) {
	f.Add(DefaultMount, "/live/livestream.flv")
	f.Add("/[vhost]/[app]/[stream].flv", "/a/b/c.flv")
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		m, err := parseMount(tmpl)
		if err != nil {
			return
		}
		vars, ok := m.match(path)
		if !ok {
			return
		}
		if vars["stream"] == "" {
			t.Fatalf("%q on %q matched without a stream", tmpl, path)
		}
		for k, v := range vars {
			if v == "" || strings.Contains(v, "/") {
				t.Fatalf("%q on %q: %s=%q", tmpl, path, k, v)
			}
		}
	})
}
