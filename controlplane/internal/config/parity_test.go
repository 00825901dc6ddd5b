package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// parityCase is one fixture of testdata/parity (or testdata/foreign) and
// the verdict SRS gives it: loaded, with these settings and warnings, or
// refused with this error.
type parityCase struct {
	file     string
	check    func(*Config) (got, want any) // nil: nothing beyond the warnings
	warnings []string                      // substrings, each of some warning
	err      string                        // substring of the error; "" when the file loads
	secrets  []string                      // never in the error
}

// parityCases is shared with cmd/controlplane, which runs -t on the same
// files (through parityFixtures there).
var parityCases = []parityCase{
	{
		file: "parity/http_stream.conf",
		check: func(c *Config) (any, any) {
			return []any{c.HTTPServer.Enabled, c.HTTPServer.Listen}, []any{true, "8081"}
		},
	},
	{
		file: "parity/http_stream_both.conf",
		check: func(c *Config) (any, any) {
			return []any{c.HTTPServer.Enabled, c.HTTPServer.Listen}, []any{true, "8081"}
		},
		warnings: []string{`parity/http_stream_both.conf:10: directive "http_server" repeats testdata/parity/http_stream_both.conf:6 and is ignored (SRS uses the first)`},
	},
	{
		file: "parity/duplicates.conf",
		check: func(c *Config) (any, any) {
			def, _ := c.Vhost(DefaultVhost)
			old, _ := c.Vhost("old.srs.com")
			return []any{c.MaxConnections, c.HTTPAPI.Enabled, def.Play.MWLatency, def.Play.GopCache, def.MinLatency, old.Play.GopCache, len(c.Vhosts)},
				[]any{1000, true, 100 * time.Millisecond, true, false, false, 2}
		},
		warnings: []string{
			`duplicates.conf:7: directive "max_connections" repeats testdata/parity/duplicates.conf:4 and is ignored (SRS uses the first)`,
			`duplicates.conf:12: directive "http_api" repeats testdata/parity/duplicates.conf:8 and is ignored`,
			`duplicates.conf:18: directive "vhost.play.mw_latency" repeats testdata/parity/duplicates.conf:17 and is ignored`,
			`duplicates.conf:20: directive "vhost.play" repeats testdata/parity/duplicates.conf:16 and is ignored`,
			`duplicates.conf:24: directive "vhost" repeats testdata/parity/duplicates.conf:15 and is ignored`,
			`duplicates.conf:32: directive "vhost.play.gop_cache" overrides testdata/parity/duplicates.conf:30`,
		},
	},
	{
		file: "parity/exporter.conf",
		check: func(c *Config) (any, any) {
			return c.Exporter, Exporter{Enabled: true, Listen: "9972", Label: "cn-beijing", Tag: "cn-edge"}
		},
	},
	{
		file:     "parity/daemon.conf",
		check:    func(c *Config) (any, any) { return c.Daemon, true },
		warnings: []string{`parity/daemon.conf:4: directive "daemon" is on: the control plane does not fork and stays in the foreground`},
	},
	{
		file: "parity/pid.conf",
		check: func(c *Config) (any, any) {
			return []any{c.PidFile, c.WritePid}, []any{"./objs/srs.parity.pid", true}
		},
	},
	{
		file: "parity/security.conf",
		warnings: []string{
			`directive "vhost.http_hooks" is not implemented and is ignored`,
			`security.conf:6: vhost "hooks.srs.com": directive "vhost.http_hooks" is on but not implemented: on_connect, on_publish and on_play are NOT called, anyone may publish and play`,
			`security.conf:13: vhost "security.srs.com": directive "vhost.security" is on but not implemented: its allow and deny rules are NOT enforced`,
			`security.conf:20: vhost "refer.srs.com": directive "vhost.refer" is on but not implemented: the Referer is NOT checked`,
		},
	},
	{
		file:    "foreign/shadow.conf",
		err:     `testdata/foreign/shadow:1: not a directive: unexpected end of line, expecting ";" or "{" (a directive must fit on one line) (included from testdata/foreign/shadow.conf:4)`,
		secrets: []string{"root", "20228", "99999", ":*:"},
	},
	{
		file:    "foreign/token.conf",
		err:     `testdata/foreign/token:1: not a directive: unexpected end of file`,
		secrets: []string{"Zx9Qw7Lk3Mn5Bv1Cx8"},
	},
	{
		file:    "foreign/password.conf",
		err:     `testdata/foreign/password:1: directive "password": unexpected end of line`,
		secrets: []string{"hunter2", "S3cr3t"},
	},
}

func TestParityFixtures(t *testing.T) {
	for _, tc := range parityCases {
		t.Run(tc.file, func(t *testing.T) {
			c, err := Load(LoadOptions{File: tc.file, BaseDir: "testdata", Getenv: env{}.get})
			if tc.err != "" {
				if err == nil {
					t.Fatalf("loaded, want an error containing %q", tc.err)
				}
				if _, ok := errors.AsType[*Error](err); !ok || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %q (%T), want a *Error containing %q", err, err, tc.err)
				}
				for _, s := range tc.secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error %q echoes %q from the included file", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tc.check != nil {
				if got, want := tc.check(c); !reflect.DeepEqual(got, want) {
					t.Errorf("got %#v, want %#v", got, want)
				}
			}
			for _, w := range tc.warnings {
				if !slices.ContainsFunc(c.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no warning containing %q in\n%s", w, strings.Join(c.Warnings, "\n"))
				}
			}
		})
	}
}

// Each security-relevant directive is warned about only when it is on.
func TestSecurityWarningsOnlyForWhatIsOn(t *testing.T) {
	c, err := Load(LoadOptions{File: "parity/security.conf", BaseDir: "testdata", Getenv: env{}.get})
	if err != nil {
		t.Fatal(err)
	}
	if n := countContaining(c.Warnings, "NOT"); n != 3 {
		t.Errorf("%d warnings about what is not enforced, want 3 (off.srs.com has them off):\n%s", n, strings.Join(c.Warnings, "\n"))
	}
	if n := countContaining(c.Warnings, "off.srs.com"); n != 0 {
		t.Errorf("warned about off.srs.com, whose guards are off: %q", c.Warnings)
	}
}

func TestDaemonIsWarnedAboutOnlyWhenOn(t *testing.T) {
	for _, tc := range []struct {
		src  string
		env  env
		want int
	}{
		{"listen 1; daemon on;", nil, 1},
		{"listen 1; daemon off;", nil, 0},
		{"listen 1;", nil, 0}, // SRS's default is on, but an unset daemon is not worth a warning
		{"listen 1; daemon off;", env{"SRS_DAEMON": "on"}, 1},
	} {
		c := mustLoad(t, tc.src, tc.env)
		if n := countContaining(c.Warnings, `"daemon" is on`); n != tc.want {
			t.Errorf("%q with %v: %d daemon warnings, want %d: %q", tc.src, tc.env, n, tc.want, c.Warnings)
		}
	}
}

func TestThePidFileIsWrittenOnlyWhenConfigured(t *testing.T) {
	if c := mustLoad(t, "listen 1;", nil); c.WritePid || c.PidFile != "./objs/srs.pid" {
		t.Errorf("unset pid: WritePid %v, PidFile %q; want false and SRS's default", c.WritePid, c.PidFile)
	}
	if c := mustLoad(t, "listen 1;", env{"SRS_PID": "/run/cp.pid"}); !c.WritePid || c.PidFile != "/run/cp.pid" {
		t.Errorf("SRS_PID: WritePid %v, PidFile %q", c.WritePid, c.PidFile)
	}
	_, err := loadString("listen 1;\npid \"\";", nil)
	assertError(t, err, `t.conf:2: directive "pid": must not be empty`)
}

// SRS's own compatible.conf style: every SRS 1/2 directive SRS transforms
// when loading is accepted.
func TestSRS1And2DirectivesLoadAsSRSTransformsThem(t *testing.T) {
	src := `listen 1935;
http_stream { enabled on; listen 8080; dir ./objs/nginx/html; }
vhost __defaultVhost__ {
    http { enabled on; mount [vhost]/hls; dir ./objs/nginx/html/hls; }
    refer github.com github.io;
    refer_publish github.com github.io;
    refer_play github.com github.io;
    publish_1stpkt_timeout 20000;
    publish_normal_timeout 7000;
    mr { enabled off; latency 350; }
    mode remote;
    origin 127.0.0.1:1935 localhost:1935;
    token_traverse off;
    vhost same.edge.srs.com;
    debug_srs_upnode off;
    forward 127.0.0.1:1936 127.0.0.1:1937;
    time_jitter full;
    mw_latency 100;
    gop_cache off;
    http_remux { hstrs on; }
}
`
	c := mustLoad(t, src, nil)
	v, _ := c.Vhost(DefaultVhost)
	if !c.HTTPServer.Enabled || v.Play.MWLatency != 100*time.Millisecond || v.Play.GopCache {
		t.Errorf("http_server %+v, play %+v", c.HTTPServer, v.Play)
	}
	for _, w := range []string{`"vhost.cluster" is not implemented`, `"vhost.publish" is not implemented`, `"vhost.http_static" is not implemented`, `"vhost.refer" is on but not implemented`} {
		if countContaining(c.Warnings, w) == 0 {
			t.Errorf("no warning containing %q in\n%s", w, strings.Join(c.Warnings, "\n"))
		}
	}
}

func TestServerIDIsValidated(t *testing.T) {
	cases := []struct{ name, src, err string }{
		{"a NUL byte", "listen 1;\nserver_id \"vid-a\x00b\";", `t.conf:2: directive "server_id": invalid value "vid-a\x00b": expecting printable ASCII characters without spaces`},
		{"a space", "listen 1;\nserver_id 'vid a';", `t.conf:2: directive "server_id": invalid value "vid a"`},
		{"non-ASCII", "listen 1;\nserver_id vid-é;", `t.conf:2: directive "server_id": invalid value "vid-\u00e9"`},
		{"3 MB", "listen 1;\nserver_id " + strings.Repeat("a", 3<<20) + ";", `t.conf:2: directive "server_id": a value of 3145728 bytes: expecting at most 64 printable ASCII characters`},
		{"65 bytes", "listen 1;\nserver_id " + strings.Repeat("a", 65) + ";", `t.conf:2: directive "server_id": a value of 65 bytes`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(tc.src, nil)
			assertError(t, err, tc.err)
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes echoes the value", len(err.Error()))
			}
		})
	}
	for _, ok := range []string{"vid-0a1b2c3", strings.Repeat("x", 64), "a!~"} {
		if c := mustLoad(t, "listen 1; server_id '"+ok+"';", nil); c.ServerID != ok {
			t.Errorf("server_id %q loaded as %q", ok, c.ServerID)
		}
	}
	t.Run("SRS_SERVER_ID is validated the same way", func(t *testing.T) {
		_, err := loadString("listen 1;", env{"SRS_SERVER_ID": "vid\x00x"})
		assertError(t, err, `env SRS_SERVER_ID: directive "server_id": invalid value "vid\x00x"`)
		_, err = loadString("listen 1;", env{"SRS_SERVER_ID": strings.Repeat("v", 3<<20)})
		assertError(t, err, `env SRS_SERVER_ID: directive "server_id": a value of 3145728 bytes`)
	})
}

// No error quotes raw input beyond a bounded, escaped value of a known
// directive or a name of a directive's shape.
func TestErrorsNeverEchoRawInput(t *testing.T) {
	long := strings.Repeat("S", 100)
	cases := []struct{ name, src, err, secret string }{
		{"a long bad value is described, not quoted", "listen 1;\nchunk_size " + long + ";",
			`t.conf:2: directive "chunk_size": invalid value (a value of 100 bytes, not shown), expecting an integer in 128..65536`, long[:65]},
		{"a long bad port", "listen 1935 " + long + ";", `t.conf:1: directive "listen": invalid port (a value of 100 bytes, not shown)`, long[:65]},
		{"a bad value's non-printables are escaped", "listen 1;\nsrs_log_tank \"\x1b[2J\";",
			`t.conf:2: directive "srs_log_tank": invalid value "\x1b[2J", expecting one of file, console`, "\x1b"},
		{"an unknown top-level line that is not a name", "listen 1;\nroot:*:20228:0:99999:7:::;",
			`t.conf:2: not a directive: unknown directive`, "20228"},
		{"an unknown line in a block that is not a name", "listen 1;\nhttp_api {\n s3cr3t-t0ken;\n}",
			`t.conf:3: not a directive (in "http_api"): unknown directive`, "s3cr3t"},
		{"an unknown line in an unsupported block SRS checks", "listen 1;\nstats {\n p@ss;\n}",
			`t.conf:3: not a directive (in "stats"): unknown directive`, "p@ss"},
		{"a name too long to be a directive", "listen 1;\n" + strings.Repeat("a", 65) + " x;",
			`t.conf:2: not a directive: unknown directive`, strings.Repeat("a", 65)},
		{"an unterminated statement of an unknown word", "listen 1;\nhunter2 x\n", `t.conf:2: not a directive: unexpected end of line`, "hunter2"},
		{"an unterminated statement at end of file", "listen 1;\nhunter2", `t.conf:2: not a directive: unexpected end of file`, "hunter2"},
		{"a brace closing an unknown statement", "listen 1;\nvhost a {\n hunter2 }\n", `t.conf:3: not a directive: unexpected "}"`, "hunter2"},
		{"an unclosed block with a foreign name", "listen 1;\nk3y:v@lue {\n", `t.conf:2: not a directive: block is not closed`, "k3y"},
		{"an unterminated quote", "listen 1;\nsecret \"hunter2\n", `t.conf:2: unterminated quote '"'`, "hunter2"},
		{"a quote followed by a letter", "listen 1;\nsecret \"hunter2\"x;", `t.conf:2: unexpected 'x' after closing quote`, "hunter2"},
		{"a non-ASCII byte after a quote is escaped", "listen 1;\nsecret \"hunter2\"\xff;", `t.conf:2: unexpected '\u00ff' after closing quote`, "hunter2"},
		{"a long include name", "listen 1;\ninclude " + strings.Repeat("x", 2000) + ";", `t.conf:2: directive "include": cannot read (a value of 2000 bytes, not shown)`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(tc.src, nil)
			assertError(t, err, tc.err)
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q echoes %q", err, tc.secret)
			}
		})
	}
}

// Warnings are bounded, whatever the file: a hostile one cannot make a
// million of them.
func TestWarningsAreBounded(t *testing.T) {
	src := "listen 1;\n" + strings.Repeat("max_connections 1;\n", 1000)
	c := mustLoad(t, src, nil)
	if len(c.Warnings) != maxWarnings+1 || !strings.Contains(c.Warnings[maxWarnings], "not shown") {
		t.Errorf("%d warnings, want %d and a last one saying the rest are not shown", len(c.Warnings), maxWarnings+1)
	}
}

// Warnings of a foreign line in a block SRS does not check say "not a
// directive" too.
func TestWarningsNeverQuoteWhatIsNotAName(t *testing.T) {
	c := mustLoad(t, "listen 1;\nhttp_api { https { hunter2-S3cret; } }", nil)
	if len(c.Warnings) != 1 || strings.Contains(c.Warnings[0], "hunter2") || !strings.Contains(c.Warnings[0], `t.conf:2: not a directive (in "http_api.https")`) {
		t.Errorf("warnings = %q", c.Warnings)
	}
}
