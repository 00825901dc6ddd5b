package config

import (
	"reflect"
	"testing"
	"time"
)

func TestDiffOfEqualConfigsIsEmpty(t *testing.T) {
	c := mustLoad(t, "listen 1935; utc_time on;", nil)
	if ch := c.Diff(c.Clone()); ch != (Changes{}) {
		t.Errorf("changes = %+v, want none", ch)
	}
	d := c.Clone()
	d.Warnings = nil
	if ch := d.Diff(c); ch != (Changes{}) {
		t.Errorf("warnings alone changed %+v", ch)
	}
}

func TestDiffReportsTheChangedArea(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   Changes
	}{
		{"a password change is an auth change", func(c *Config) { c.HTTPAPI.Auth.Password = "x" }, Changes{Auth: true}},
		{"http_server crossdomain is a crossdomain change", func(c *Config) { c.HTTPServer.Crossdomain = false }, Changes{Crossdomain: true}},
		{"srs_log_level_v2 is a log level change", func(c *Config) { c.Log.LevelV2 = "error" }, Changes{LogLevel: true}},
		{"the API port is an API listen change", func(c *Config) { c.HTTPAPI.Listen = "1986" }, Changes{HTTPAPIListen: true}},
		{"an HTTPS certificate is an HTTPS change", func(c *Config) { c.HTTPServer.HTTPS.Cert = "x" }, Changes{HTTPS: true}},
		{"chunk_size is a worker setting", func(c *Config) { c.ChunkSize = 4096 }, Changes{WorkerSettings: true}},
		{"the RTMP listen is a worker setting", func(c *Config) { c.Listen = []string{"1936"} }, Changes{WorkerSettings: true}},
		{"a vhost setting is a vhost and worker change", func(c *Config) { c.Vhosts[0].Play.MWLatency = 0 },
			Changes{Vhosts: true, WorkerSettings: true}},
		{"an rtc_server setting is an RTC and worker change", func(c *Config) { c.RTCServer.Candidate = "1.2.3.4" },
			Changes{RTC: true, WorkerSettings: true}},
		{"http_server enabled is an HTTP server and worker change", func(c *Config) { c.HTTPServer.Enabled = true },
			Changes{HTTPServer: true, WorkerSettings: true}},
		{"the http_server listen is an HTTP server and worker change", func(c *Config) { c.HTTPServer.Listen = "8081" },
			Changes{HTTPServer: true, WorkerSettings: true}},
		{"the http_server dir is no worker setting", func(c *Config) { c.HTTPServer.Dir = "/srv" }, Changes{HTTPServer: true}},
		{"an http_remux setting is a vhost and worker change", func(c *Config) { c.Vhosts[0].HTTPRemux.Enabled = true },
			Changes{Vhosts: true, WorkerSettings: true}},
		{"an http_remux mount is a vhost and worker change", func(c *Config) { c.Vhosts[0].HTTPRemux.Mount = "[stream].flv" },
			Changes{Vhosts: true, WorkerSettings: true}},
		{"the fleet token is a fleet change", func(c *Config) { c.Fleet.Token = "new" }, Changes{Fleet: true}},
		{"the fleet ping interval is a fleet change", func(c *Config) { c.Fleet.PingInterval = time.Minute }, Changes{Fleet: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := Defaults()
			c := old.Clone()
			tc.mutate(c)
			if got := c.Diff(old); got != tc.want {
				t.Errorf("changes = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDiffNoticesEveryField changes each leaf of Config in turn, so that a
// field added later cannot be forgotten by Diff.
func TestDiffNoticesEveryField(t *testing.T) {
	n := 0
	forEachLeaf(reflect.ValueOf(Defaults()).Elem(), "Config", func(reflect.Value, string) { n++ })
	for k := range n {
		old := Defaults()
		c := old.Clone()
		i := 0
		forEachLeaf(reflect.ValueOf(c).Elem(), "Config", func(v reflect.Value, path string) {
			if i++; i-1 != k {
				return
			}
			switch v.Kind() {
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.String:
				v.SetString(v.String() + "x")
			case reflect.Int, reflect.Int64:
				v.SetInt(v.Int() + 1)
			case reflect.Slice:
				v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
			default:
				t.Fatalf("%s: cannot change a %s", path, v.Kind())
			}
			if c.Diff(old) == (Changes{}) {
				t.Errorf("changing %s is not reported", path)
			}
		})
	}
}

// forEachLeaf calls f with every leaf of v, depth first, looking into the
// first element of slices of structs and skipping Warnings.
func forEachLeaf(v reflect.Value, path string, f func(reflect.Value, string)) {
	switch {
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if name := v.Type().Field(i).Name; name != "Warnings" {
				forEachLeaf(v.Field(i), path+"."+name, f)
			}
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		forEachLeaf(v.Index(0), path+"[0]", f)
	default:
		f(v, path)
	}
}
