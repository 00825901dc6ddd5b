package config

import (
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// env is a fake environment.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// loadString loads src as t.conf with the environment e.
func loadString(src string, e env) (*Config, error) {
	files := memFS{"t.conf": src}
	return Load(LoadOptions{File: "t.conf", Getenv: e.get, ReadFile: files.read})
}

func mustLoad(t *testing.T, src string, e env) *Config {
	t.Helper()
	c, err := loadString(src, e)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoadFullConfig(t *testing.T) {
	c, err := Load(LoadOptions{File: "full.conf", BaseDir: "testdata", Getenv: env{"CANDIDATE": "192.168.1.10"}.get})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check("Listen", c.Listen, []string{"1935", "[::]:1936", "127.0.0.1:1937"})
	check("Daemon", c.Daemon, false)
	check("ServerID", c.ServerID, "vid-full01")
	check("log level (v2 info is v1 trace)", c.Log.EffectiveLevel(), "trace")
	check("HTTPAPI", c.HTTPAPI, HTTPAPI{
		Enabled: true, Listen: "1985", Crossdomain: true,
		RawAPI: RawAPI{Enabled: true, AllowReload: true},
		Auth:   Auth{Enabled: true, Username: "admin", Password: "s3cret pass"},
		HTTPS:  HTTPS{Enabled: true, Listen: "1990", Key: "./conf/server.key", Cert: "./conf/server.crt"},
	})
	check("HTTPServer", c.HTTPServer, HTTPServer{
		Enabled: true, Listen: "8080", Dir: "./objs/nginx/html", Crossdomain: true,
		HTTPS: HTTPS{Enabled: true, Listen: "8088", Key: "./conf/server.key", Cert: "./conf/server.crt"},
	})
	check("RTCServer", c.RTCServer, RTCServer{
		Enabled: true, Listen: "8000", Candidate: "192.168.1.10", Protocol: "all",
		TCP: RTCTCP{Enabled: true, Listen: "8000"}, Encrypt: true, APIAsCandidates: true,
		ResolveAPIDomain: true, UseAutoDetectNetworkIP: true, IPFamily: "ipv4", ECDSA: true,
	})
	check("Exporter", c.Exporter, Exporter{Enabled: true, Listen: "9972", Label: "cn-beijing", Tag: "cn-edge"})
	check("Fleet", c.Fleet, Fleet{
		Listen: "127.0.0.1:1988", Token: "fleet-t0ken", PingInterval: 500 * time.Millisecond, ExpireAfter: 2 * time.Second,
		TLS: FleetTLS{Enabled: true, Key: "./conf/fleet.key", Cert: "./conf/fleet.crt", ClientCA: "./conf/workers.ca"},
	})

	var names []string
	for _, v := range c.Vhosts {
		names = append(names, v.Name)
	}
	check("vhosts in file order", names, []string{DefaultVhost, "realtime.srs.com", "dvr.srs.com", "hooks.callback.srs.com", "cluster.edge.srs.com", "transcode.srs.com"})
	rt, _ := c.Vhost("realtime.srs.com")
	check("realtime vhost", rt, Vhost{
		Name: "realtime.srs.com", Enabled: true, MinLatency: true, TCPNoDelay: true,
		Play:      Play{GopCache: false, GopCacheMaxFrames: 2500, QueueLength: 10 * time.Second, MWLatency: 0, MWMsgs: 0},
		HTTPRemux: HTTPRemux{Enabled: false, Mount: "[vhost]/[app]/[stream].flv"},
	})
	def, _ := c.Vhost(DefaultVhost)
	check("default vhost rtc", def.RTC, VhostRTC{Enabled: true, RTMPToRTC: true, RTCToRTMP: true})
	check("default vhost http_remux", def.HTTPRemux, HTTPRemux{Enabled: true, Mount: "[vhost]/[app]/[stream].flv"})
	tr, _ := c.Vhost("transcode.srs.com")
	check("disabled vhost", tr.Enabled, false)

	for _, w := range []string{
		`testdata/full.conf:14: directive "ff_log_dir" is not implemented and is ignored`,
		`testdata/full.conf:40: directive "circuit_breaker" is not implemented and is ignored`,
		`directive "stats" is not implemented`,
		`directive "stream_caster" is not implemented`,
		`directive "rtc_server.reuseport" is not implemented`,
		`directive "vhost.hls" is not implemented`,
		`directive "vhost.dvr" is not implemented`,
		`directive "vhost.http_hooks" is not implemented`,
		`directive "vhost.rtc.nack" is not implemented`,
		`directive "vhost.play.time_jitter" is not implemented`,
		`directive "vhost.chunk_size" is not implemented`,
		`directive "vhost.http_remux.guess_has_av" is not implemented`,
	} {
		if !slices.ContainsFunc(c.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning containing %q in\n%s", w, strings.Join(c.Warnings, "\n"))
		}
	}
	if n := countContaining(c.Warnings, `http_remux"`) + countContaining(c.Warnings, `http_remux.fast_cache"`); n != 0 {
		t.Errorf("http_remux or its fast_cache (which SRS's FLV ignores) reported: %q", c.Warnings)
	}
	if n := countContaining(c.Warnings, `"stream_caster"`); n != 1 {
		t.Errorf("stream_caster reported %d times, want once", n)
	}
}

func countContaining(list []string, s string) int {
	n := 0
	for _, x := range list {
		if strings.Contains(x, s) {
			n++
		}
	}
	return n
}

func TestLoadAppliesDefaultsForAbsentDirectives(t *testing.T) {
	c := mustLoad(t, "listen 1935;", nil)
	c.Warnings = nil
	if want := Defaults(); !reflect.DeepEqual(c, want) {
		t.Errorf("config = %+v\nwant defaults %+v", c, want)
	}
}

func TestLoadIncludesFromDisk(t *testing.T) {
	c, err := Load(LoadOptions{File: "include/main.conf", BaseDir: "testdata", Getenv: env{}.get})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := c.Vhost(DefaultVhost)
	if !c.HTTPAPI.Auth.Enabled || c.HTTPAPI.Auth.Password.Reveal() != "admin" || v.Play.MWLatency != 100*time.Millisecond {
		t.Errorf("included settings not applied: %+v %+v", c.HTTPAPI, v.Play)
	}
}

func TestLoadValues(t *testing.T) {
	cases := []struct {
		name string
		src  string
		env  env
		got  func(*Config) any
		want any
	}{
		{"listen takes several addresses of every form", "listen 1935 0.0.0.0:1936 [::1]:1937 [::]:1938;", nil,
			func(c *Config) any { return c.Listen }, []string{"1935", "0.0.0.0:1936", "[::1]:1937", "[::]:1938"}},
		{"chunk_size accepts 128", "listen 1; chunk_size 128;", nil, func(c *Config) any { return c.ChunkSize }, 128},
		{"chunk_size accepts 65536", "listen 1; chunk_size 65536;", nil, func(c *Config) any { return c.ChunkSize }, 65536},
		{"a default-off switch is on only for on", "listen 1; http_api { enabled yes; }", nil,
			func(c *Config) any { return c.HTTPAPI.Enabled }, false},
		{"a default-on switch is off only for off", "listen 1; http_server { crossdomain no; }", nil,
			func(c *Config) any { return c.HTTPServer.Crossdomain }, true},
		{"a default-on switch turns off", "listen 1; http_server { crossdomain off; }", nil,
			func(c *Config) any { return c.HTTPServer.Crossdomain }, false},
		{"srs_log_level_v2 overrides srs_log_level", "listen 1; srs_log_level_v2 debug; srs_log_level warn;", nil,
			func(c *Config) any { return c.Log.EffectiveLevel() }, "info"},
		{"srs_log_level applies without v2", "listen 1; srs_log_level warn;", nil,
			func(c *Config) any { return c.Log.EffectiveLevel() }, "warn"},
		{"a candidate $VAR reads the environment", "listen 1; rtc_server { candidate $IP; }", env{"IP": "10.0.0.1"},
			func(c *Config) any { return c.RTCServer.Candidate }, "10.0.0.1"},
		{"an unset candidate $VAR means auto-detect", "listen 1; rtc_server { candidate $IP; }", nil,
			func(c *Config) any { return c.RTCServer.Candidate }, "*"},
		{"a candidate from the environment may itself be $VAR", "listen 1;", env{"SRS_RTC_SERVER_CANDIDATE": "$IP", "IP": "10.0.0.2"},
			func(c *Config) any { return c.RTCServer.Candidate }, "10.0.0.2"},
		{"the HTTPS API follows the HTTPS server when the API shares the HTTP port",
			"listen 1; http_api { listen 8080; } http_server { https { listen 8443; } }", nil,
			func(c *Config) any { return c.HTTPAPI.HTTPS.Listen }, "8443"},
		{"an explicit HTTPS API listen is kept when the API shares the HTTP port",
			"listen 1; http_api { listen 8080; https { listen 1990; } } http_server { https { listen 8443; } }", nil,
			func(c *Config) any { return c.HTTPAPI.HTTPS.Listen }, "1990"},
		{"raw_api allow_query and allow_update are accepted and have no effect",
			"listen 1; http_api { raw_api { allow_query on; allow_update on; } }", nil,
			func(c *Config) any { return c.HTTPAPI.RawAPI }, RawAPI{}},
		{"the default vhost is implied after the configured ones", "listen 1; vhost a { } vhost b { }", nil,
			func(c *Config) any { return []string{c.Vhosts[0].Name, c.Vhosts[1].Name, c.Vhosts[2].Name} }, []string{"a", "b", DefaultVhost}},
		{"an explicit default vhost keeps its place", "listen 1; vhost a { } vhost __defaultVhost__ { min_latency on; } vhost b {}", nil,
			func(c *Config) any { return len(c.Vhosts) }, 3},
		{"a vhost with min_latency is realtime", "listen 1; vhost a { min_latency on; }", nil,
			func(c *Config) any { return c.Vhosts[0].Realtime() }, true},
		{"a vhost with mw_latency 0 is realtime", "listen 1; vhost a { play { mw_latency 0; } }", nil,
			func(c *Config) any { return c.Vhosts[0].Realtime() }, true},
		{"a default vhost is not realtime", "listen 1;", nil,
			func(c *Config) any { return c.Vhosts[0].Realtime() }, false},
		{"http_server is off on 8080 by default", "listen 1;", nil,
			func(c *Config) any { return []any{c.HTTPServer.Enabled, c.HTTPServer.Listen} }, []any{false, "8080"}},
		{"http_server takes enabled and listen", "listen 1; http_server { enabled on; listen 127.0.0.1:8081; }", nil,
			func(c *Config) any { return []any{c.HTTPServer.Enabled, c.HTTPServer.Listen} }, []any{true, "127.0.0.1:8081"}},
		{"http_remux is off with SRS's mount by default", "listen 1; vhost a { }", nil,
			func(c *Config) any { return c.Vhosts[0].HTTPRemux }, HTTPRemux{Mount: "[vhost]/[app]/[stream].flv"}},
		{"http_remux takes enabled and mount", "listen 1; vhost a { http_remux { enabled on; mount [app]/[stream].flv; } }", nil,
			func(c *Config) any { return c.Vhosts[0].HTTPRemux }, HTTPRemux{Enabled: true, Mount: "[app]/[stream].flv"}},
		{"a mount may start with a slash and name one app", "listen 1; vhost a { http_remux { mount /live/[stream].flv; } }", nil,
			func(c *Config) any { return c.Vhosts[0].HTTPRemux.Mount }, "/live/[stream].flv"},
		{"SRS 1's http_flv is http_remux", "listen 1; vhost a { http_flv { enabled on; mount [stream].flv; } }", nil,
			func(c *Config) any { return c.Vhosts[0].HTTPRemux }, HTTPRemux{Enabled: true, Mount: "[stream].flv"}},
		{"http_remux's fast_cache is accepted silently, as SRS's FLV ignores it",
			"listen 1; vhost a { http_remux { enabled on; fast_cache 30; } }", nil,
			func(c *Config) any { return c.Warnings }, []string(nil)},
		{"http_remux's other SRS directives are accepted with a warning",
			"listen 1;\nvhost a { http_remux {\n drop_if_not_match on;\n has_audio on;\n has_video off;\n guess_has_av on; } }", nil,
			func(c *Config) any { return c.Warnings }, []string{
				`t.conf:3: directive "vhost.http_remux.drop_if_not_match" is not implemented and is ignored`,
				`t.conf:4: directive "vhost.http_remux.has_audio" is not implemented and is ignored`,
				`t.conf:5: directive "vhost.http_remux.has_video" is not implemented and is ignored`,
				`t.conf:6: directive "vhost.http_remux.guess_has_av" is not implemented and is ignored`,
			}},
		{"an unknown child of a block SRS does not check is a warning",
			"listen 1; http_api { https { ciphers ALL; } }", nil,
			func(c *Config) any { return c.Warnings }, []string{`t.conf:1: directive "http_api.https.ciphers" is unknown and is ignored`}},
		{"the same unsupported directive is reported once",
			"listen 1;\nvhost a { hls { enabled on; } }\nvhost b { hls { enabled on; } }", nil,
			func(c *Config) any { return c.Warnings }, []string{`t.conf:2: directive "vhost.hls" is not implemented and is ignored`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.src, tc.env)
			if got := tc.got(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct{ name, src, err string }{
		{"a file without directives is empty", "# nothing\n", `t.conf: conf is empty`},
		{"listen is required", "daemon off;", `t.conf: directive "listen": requires at least one [ip:]port`},
		{"a port must be a number", "\nlisten abc;", `t.conf:2: directive "listen": invalid port "abc"`},
		{"a port must be below 65536", "listen 65536;", `t.conf:1: directive "listen": invalid port "65536"`},
		{"a port must not be signed", "listen +1935;", `t.conf:1: directive "listen": invalid port "+1935"`},
		{"an IPv6 listen needs brackets", "listen ::1:1935;", `t.conf:1: directive "listen": invalid address "::1:1935"`},
		{"a listen host must be an IP", "listen localhost:1935;", `t.conf:1: directive "listen": invalid address "localhost:1935"`},
		{"listen needs an address", "listen;", `t.conf:1: directive "listen": requires at least one [ip:]port`},
		{"chunk_size below 128 is invalid", "listen 1;\nchunk_size 127;", `t.conf:2: directive "chunk_size": invalid value "127", expecting an integer in 128..65536`},
		{"chunk_size above 65536 is invalid", "listen 1;\nchunk_size 65537;", `t.conf:2: directive "chunk_size": invalid value "65537"`},
		{"max_connections must be positive", "listen 1; max_connections 0;", `t.conf:1: directive "max_connections": invalid value "0", expecting an integer of at least 1`},
		{"a scalar takes one value", "listen 1; pid a b;", `t.conf:1: directive "pid": expects 1 value, got 2`},
		{"a scalar needs a value", "listen 1; http_api { enabled; }", `t.conf:1: directive "http_api.enabled": expects 1 value, got 0`},
		{"a scalar takes no block", "listen 1; daemon off { }", `t.conf:1: directive "daemon": takes no block`},
		{"a block needs a block", "listen 1; http_api on;", `t.conf:1: directive "http_api": expects a block with no arguments`},
		{"mw_latency is non-negative", "listen 1;\nvhost a {\n play {\n  mw_latency -1;\n }\n}", `t.conf:4: directive "vhost.play.mw_latency": invalid value "-1", expecting an integer of at least 0`},
		{"queue_length is an integer", "listen 1; vhost a { play { queue_length 1.5; } }", `t.conf:1: directive "vhost.play.queue_length": invalid value "1.5"`},
		{"a vhost needs a name", "listen 1; vhost { }", `t.conf:1: directive "vhost": expects a name and a block`},
		{"a vhost needs a block", "listen 1; vhost a;", `t.conf:1: directive "vhost": expects a name and a block`},
		{"an unknown top-level directive is an error", "listen 1;\nbogus_directive on;", `t.conf:2: directive "bogus_directive": unknown directive`},
		{"an unknown http_api child is an error", "listen 1; http_api { bogus on; }", `t.conf:1: directive "http_api.bogus": unknown directive`},
		{"an unknown raw_api child is an error", "listen 1; http_api { raw_api { bogus on; } }", `t.conf:1: directive "http_api.raw_api.bogus": unknown directive`},
		{"an unknown auth child is an error", "listen 1; http_api { auth { bogus on; } }", `t.conf:1: directive "http_api.auth.bogus": unknown directive`},
		{"an unknown http_server child is an error", "listen 1; http_server { bogus on; }", `t.conf:1: directive "http_server.bogus": unknown directive`},
		{"an unknown rtc_server child is an error", "listen 1; rtc_server { bogus on; }", `t.conf:1: directive "rtc_server.bogus": unknown directive`},
		{"an unknown exporter child is an error", "listen 1; exporter { bogus on; }", `t.conf:1: directive "exporter.bogus": unknown directive`},
		{"an unknown stats child is an error", "listen 1; stats {\n bogus on; }", `t.conf:2: directive "stats.bogus": unknown directive`},
		{"an unknown heartbeat child is an error", "listen 1; heartbeat { bogus on; }", `t.conf:1: directive "heartbeat.bogus": unknown directive`},
		{"an unknown srt_server child is an error", "listen 1; srt_server { bogus on; }", `t.conf:1: directive "srt_server.bogus": unknown directive`},
		{"an unknown fleet child is an error", "listen 1; fleet { bogus on; }", `t.conf:1: directive "fleet.bogus": unknown directive`},
		{"an unknown vhost child is an error", "listen 1; vhost a { bogus on; }", `t.conf:1: directive "vhost.bogus": unknown directive`},
		{"an unknown play child is an error", "listen 1; vhost a { play { bogus on; } }", `t.conf:1: directive "vhost.play.bogus": unknown directive`},
		{"an unknown http_remux child is an error", "listen 1; vhost a { http_remux { bogus on; } }", `t.conf:1: directive "vhost.http_remux.bogus": unknown directive`},
		{"an http_remux mount must end in .flv", "listen 1;\nvhost a {\n http_remux {\n  mount [vhost]/[app]/[stream].ts;\n }\n}",
			`t.conf:4: directive "vhost.http_remux.mount": invalid mount "[vhost]/[app]/[stream].ts": must end in .flv (only HTTP-FLV is served)`},
		{"an http_remux mount must contain [stream]", "listen 1;\nvhost a { http_remux { mount [app]/live.flv; } }",
			`t.conf:2: directive "vhost.http_remux.mount": invalid mount "[app]/live.flv": must contain [stream]`},
		{"an http_remux mount takes one value", "listen 1; vhost a { http_remux { mount a/[stream].flv b/[stream].flv; } }",
			`t.conf:1: directive "vhost.http_remux.mount": expects 1 value, got 2`},
		{"an http_server listen must be a port", "listen 1;\nhttp_server {\n listen http;\n}", `t.conf:3: directive "http_server.listen": invalid port "http"`},
		{"a vhost is not allowed inside a block", "listen 1; http_api { vhost a { } }", `t.conf:1: directive "http_api.vhost": unknown directive`},
		{"an invalid log tank is an error", "listen 1; srs_log_tank syslog;", `t.conf:1: directive "srs_log_tank": invalid value "syslog", expecting one of file, console`},
		{"an invalid log level is an error", "listen 1; srs_log_level loud;", `t.conf:1: directive "srs_log_level": invalid value "loud"`},
		{"an invalid rtc protocol is an error", "listen 1; rtc_server { protocol sctp; }", `t.conf:1: directive "rtc_server.protocol": invalid value "sctp"`},
		{"a file log needs a file name", "listen 1;\nsrs_log_file \"\";", `t.conf:2: directive "srs_log_file": must not be empty when srs_log_tank is file`},
		{"fleet expiry must exceed the ping interval", "listen 1;\nfleet {\n ping_interval 1000;\n expire_after 1000;\n}", `t.conf:4: directive "fleet.expire_after": must be longer than fleet.ping_interval (1s)`},
		{"fleet ping interval must be positive", "listen 1; fleet { ping_interval 0; }", `t.conf:1: directive "fleet.ping_interval": invalid value "0"`},
		{"fleet TLS needs a key and a certificate", "listen 1;\nfleet { tls {\n enabled on; cert c.pem; } }", `t.conf:3: directive "fleet.tls.enabled": requires fleet.tls.key and fleet.tls.cert`},
		{"grammar errors surface from Load", "listen 1935\n;", `t.conf:1: directive "listen": unexpected end of line`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(tc.src, nil)
			assertError(t, err, tc.err)
			if e, _ := errors.AsType[*Error](err); e.Code() != CodeConfigInvalid {
				t.Errorf("code = %d, want %d", e.Code(), CodeConfigInvalid)
			}
		})
	}
}

func TestLoadMissingFileIsAFileOpenError(t *testing.T) {
	_, err := Load(LoadOptions{File: "nope.conf", BaseDir: "testdata", Getenv: env{}.get})
	assertError(t, err, "testdata/nope.conf: cannot read config: open testdata/nope.conf: no such file or directory")
	if e, _ := errors.AsType[*Error](err); e.Code() != CodeFileOpen || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("code = %d, want %d wrapping fs.ErrNotExist", e.Code(), CodeFileOpen)
	}
}

func TestLoadWithoutAFileIsAnError(t *testing.T) {
	_, err := Load(LoadOptions{Getenv: env{}.get})
	assertError(t, err, "no config file given")
}

func TestLoadEnvOnly(t *testing.T) {
	unreadable := func(string) ([]byte, error) { return nil, errors.New("must not read") }
	t.Run("ignores the file and uses SRS's env-only defaults", func(t *testing.T) {
		c, err := Load(LoadOptions{File: "srs.conf", EnvOnly: true, Getenv: env{}.get, ReadFile: unreadable})
		if err != nil {
			t.Fatal(err)
		}
		want := Defaults()
		want.Daemon, want.Log.Tank = false, "console"
		if !reflect.DeepEqual(c, want) {
			t.Errorf("config = %+v\nwant %+v", c, want)
		}
		if len(c.Vhosts) != 1 || c.Vhosts[0].Name != DefaultVhost || !slices.Equal(c.Listen, []string{"1935"}) {
			t.Errorf("vhosts %v listen %v, want only the default vhost on 1935", c.Vhosts, c.Listen)
		}
	})
	t.Run("takes every setting from the environment", func(t *testing.T) {
		e := env{"SRS_LISTEN": " 1936  1937 ", "SRS_HTTP_API_ENABLED": "on", "SRS_VHOST_RTC_ENABLED": "on", "SRS_DAEMON": "on"}
		c, err := Load(LoadOptions{EnvOnly: true, Getenv: e.get, ReadFile: unreadable})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Listen, []string{"1936", "1937"}) || !c.HTTPAPI.Enabled || !c.Vhosts[0].RTC.Enabled || !c.Daemon {
			t.Errorf("env not applied: listen %v api %v rtc %v daemon %v", c.Listen, c.HTTPAPI.Enabled, c.Vhosts[0].RTC.Enabled, c.Daemon)
		}
	})
}

func TestCloneIsIndependent(t *testing.T) {
	c := mustLoad(t, "listen 1935 1936; vhost a { } utc_time on;", nil)
	d := c.Clone()
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("clone differs: %+v", d)
	}
	d.Listen[0], d.Vhosts[0].Enabled, d.Warnings[0] = "9", false, "x"
	if c.Listen[0] != "1935" || !c.Vhosts[0].Enabled || c.Warnings[0] == "x" {
		t.Errorf("changing the clone changed the original: %+v", c)
	}
}

func TestOldStyleVhostDirectivesLoadAsSRSTransformsThem(t *testing.T) {
	src := `listen 1935;
vhost __defaultVhost__ {
    gop_cache off;
    mw_latency 100;
    queue_length 10;
    time_jitter full;
    publish_1stpkt_timeout 20000;
    http_flv { enabled on; mount [vhost]/[app]/[stream].flv; }
}
`
	cfg, err := Load(LoadOptions{File: "old.conf", ReadFile: func(string) ([]byte, error) { return []byte(src), nil }, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := cfg.Vhost(DefaultVhost)
	if v.Play.GopCache || v.Play.MWLatency != 100*time.Millisecond || v.Play.QueueLength != 10*time.Second {
		t.Fatalf("play = %+v, want gop_cache off, mw_latency 100 ms, queue_length 10 s", v.Play)
	}
	if len(cfg.Warnings) == 0 {
		t.Fatal("no warning for the unsupported old directives")
	}
}
