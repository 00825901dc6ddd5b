package config

import (
	"reflect"
	"slices"
	"testing"
)

// envBase is the file the environment tests override: two vhosts, so that
// vhost-scoped variables have more than one target, and fleet TLS files, so
// that SRS_FLEET_TLS_ENABLED=on is valid.
const envBase = `
listen 1935;
fleet { tls { key k.pem; cert c.pem; } }
vhost a.example.com { }
`

// envTryValues are tried in turn until one is valid for the variable and
// changes the configuration.
var envTryValues = []string{"on", "off", "1936", "console", "warn", "debug", "tcp", "ipv6", "x", "[stream].flv"}

func TestEveryEnvOverrideChangesTheConfig(t *testing.T) {
	base := mustLoad(t, envBase, nil)
	for _, name := range EnvNames() {
		t.Run(name, func(t *testing.T) {
			for _, v := range envTryValues {
				c, err := loadString(envBase, env{name: v})
				if err == nil && !reflect.DeepEqual(c, base) {
					return
				}
			}
			t.Errorf("no value of %v changed the config", envTryValues)
		})
	}
}

func TestEnvNamesFollowSRS(t *testing.T) {
	names := EnvNames()
	for _, want := range []string{
		"SRS_LISTEN", "SRS_MAX_CONNECTIONS", "SRS_CHUNK_SIZE", "SRS_DAEMON", "SRS_PID", "SRS_SERVER_ID",
		"SRS_WORK_DIR", "SRS_QUERY_LATEST_VERSION",
		"SRS_SRS_LOG_TANK", "SRS_LOG_TANK", "SRS_SRS_LOG_FILE", "SRS_LOG_FILE", "SRS_SRS_LOG_LEVEL", "SRS_LOG_LEVEL",
		"SRS_SRS_LOG_LEVEL_V2", "SRS_LOG_LEVEL_V2",
		"SRS_HTTP_API_ENABLED", "SRS_HTTP_API_LISTEN", "SRS_HTTP_API_CROSSDOMAIN",
		"SRS_HTTP_API_RAW_API_ENABLED", "SRS_HTTP_API_RAW_API_ALLOW_RELOAD",
		"SRS_HTTP_API_AUTH_ENABLED", "SRS_HTTP_API_AUTH_USERNAME", "SRS_HTTP_API_AUTH_PASSWORD",
		"SRS_HTTP_API_HTTPS_ENABLED", "SRS_HTTP_API_HTTPS_LISTEN", "SRS_HTTP_API_HTTPS_KEY", "SRS_HTTP_API_HTTPS_CERT",
		"SRS_HTTP_SERVER_ENABLED", "SRS_HTTP_SERVER_LISTEN", "SRS_HTTP_SERVER_DIR", "SRS_HTTP_SERVER_CROSSDOMAIN",
		"SRS_HTTP_SERVER_HTTPS_ENABLED", "SRS_HTTP_SERVER_HTTPS_LISTEN", "SRS_HTTP_SERVER_HTTPS_KEY", "SRS_HTTP_SERVER_HTTPS_CERT",
		"SRS_RTC_SERVER_ENABLED", "SRS_RTC_SERVER_LISTEN", "SRS_RTC_SERVER_CANDIDATE", "SRS_RTC_SERVER_PROTOCOL",
		"SRS_RTC_SERVER_TCP_ENABLED", "SRS_RTC_SERVER_TCP_LISTEN", "SRS_RTC_SERVER_ENCRYPT",
		"SRS_RTC_SERVER_API_AS_CANDIDATES", "SRS_RTC_SERVER_RESOLVE_API_DOMAIN", "SRS_RTC_SERVER_KEEP_API_DOMAIN",
		"SRS_RTC_SERVER_USE_AUTO_DETECT_NETWORK_IP", "SRS_RTC_SERVER_IP_FAMILY", "SRS_RTC_SERVER_ECDSA",
		"SRS_EXPORTER_ENABLED", "SRS_EXPORTER_LISTEN", "SRS_EXPORTER_LABEL", "SRS_EXPORTER_TAG",
		"SRS_FLEET_LISTEN", "SRS_FLEET_TOKEN", "SRS_FLEET_PING_INTERVAL", "SRS_FLEET_EXPIRE_AFTER",
		"SRS_FLEET_TLS_ENABLED", "SRS_FLEET_TLS_KEY", "SRS_FLEET_TLS_CERT", "SRS_FLEET_TLS_CLIENT_CA",
		"SRS_VHOST_MIN_LATENCY", "SRS_VHOST_TCP_NODELAY", "SRS_VHOST_PLAY_GOP_CACHE", "SRS_VHOST_PLAY_GOP_CACHE_MAX_FRAMES",
		"SRS_VHOST_PLAY_QUEUE_LENGTH", "SRS_VHOST_PLAY_MW_LATENCY", "SRS_VHOST_PLAY_MW_MSGS",
		"SRS_VHOST_RTC_ENABLED", "SRS_VHOST_RTC_RTMP_TO_RTC", "SRS_VHOST_RTC_RTC_TO_RTMP",
		"SRS_VHOST_HTTP_REMUX_ENABLED", "SRS_VHOST_HTTP_REMUX_MOUNT",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvNames lacks %s", want)
		}
	}
	for i, n := range names {
		if slices.Contains(names[i+1:], n) {
			t.Errorf("EnvNames lists %s twice", n)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	const file = "listen 1935;\nchunk_size 4096;\nvhost a { play { gop_cache on; } }\nvhost b { }\n"
	cases := []struct {
		name string
		env  env
		got  func(*Config) any
		want any
	}{
		{"a non-empty variable wins over the file", env{"SRS_CHUNK_SIZE": "8192"},
			func(c *Config) any { return c.ChunkSize }, 8192},
		{"an empty variable leaves the file's value", env{"SRS_CHUNK_SIZE": ""},
			func(c *Config) any { return c.ChunkSize }, 4096},
		{"SRS_LISTEN is split on spaces", env{"SRS_LISTEN": "1936 [::1]:1937"},
			func(c *Config) any { return c.Listen }, []string{"1936", "[::1]:1937"}},
		{"a vhost variable applies to every vhost", env{"SRS_VHOST_PLAY_GOP_CACHE": "off"},
			func(c *Config) any {
				return []bool{c.Vhosts[0].Play.GopCache, c.Vhosts[1].Play.GopCache, c.Vhosts[2].Play.GopCache}
			}, []bool{false, false, false}},
		{"SRS_SRS_LOG_TANK takes precedence over SRS_LOG_TANK", env{"SRS_SRS_LOG_TANK": "console", "SRS_LOG_TANK": "file"},
			func(c *Config) any { return c.Log.Tank }, "console"},
		{"SRS_LOG_TANK applies alone", env{"SRS_LOG_TANK": "console"},
			func(c *Config) any { return c.Log.Tank }, "console"},
		{"a default-off switch from the environment is on only for on", env{"SRS_HTTP_API_ENABLED": "true"},
			func(c *Config) any { return c.HTTPAPI.Enabled }, false},
		{"a default-on switch from the environment is off only for off", env{"SRS_HTTP_SERVER_CROSSDOMAIN": "false"},
			func(c *Config) any { return c.HTTPServer.Crossdomain }, true},
		{"SRS_HTTP_SERVER_ENABLED and SRS_HTTP_SERVER_LISTEN set the HTTP server", env{"SRS_HTTP_SERVER_ENABLED": "on", "SRS_HTTP_SERVER_LISTEN": "8081"},
			func(c *Config) any { return []any{c.HTTPServer.Enabled, c.HTTPServer.Listen} }, []any{true, "8081"}},
		{"SRS_VHOST_HTTP_REMUX_* apply to every vhost", env{"SRS_VHOST_HTTP_REMUX_ENABLED": "on", "SRS_VHOST_HTTP_REMUX_MOUNT": "[app]/[stream].flv"},
			func(c *Config) any {
				return []HTTPRemux{c.Vhosts[0].HTTPRemux, c.Vhosts[1].HTTPRemux, c.Vhosts[2].HTTPRemux}
			},
			[]HTTPRemux{{true, "[app]/[stream].flv"}, {true, "[app]/[stream].flv"}, {true, "[app]/[stream].flv"}}},
		{"a secret may contain spaces", env{"SRS_HTTP_API_AUTH_PASSWORD": "a b"},
			func(c *Config) any { return c.HTTPAPI.Auth.Password.Reveal() }, "a b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, file, tc.env)
			if got := tc.got(c); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestEnvErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		name string
		env  env
		err  string
	}{
		{"an invalid number", env{"SRS_CHUNK_SIZE": "big"}, `env SRS_CHUNK_SIZE: directive "chunk_size": invalid value "big"`},
		{"an invalid address in a list", env{"SRS_LISTEN": "1935 x"}, `env SRS_LISTEN: directive "listen": invalid port "x"`},
		{"a blank list", env{"SRS_LISTEN": "  "}, `env SRS_LISTEN: directive "listen": requires at least one [ip:]port`},
		{"an invalid vhost value", env{"SRS_VHOST_PLAY_MW_LATENCY": "-5"}, `env SRS_VHOST_PLAY_MW_LATENCY: directive "vhost.play.mw_latency": invalid value "-5"`},
		{"an invalid mount", env{"SRS_VHOST_HTTP_REMUX_MOUNT": "[stream].mp3"}, `env SRS_VHOST_HTTP_REMUX_MOUNT: directive "vhost.http_remux.mount": invalid mount "[stream].mp3": must end in .flv`},
		{"an invalid HTTP server port", env{"SRS_HTTP_SERVER_LISTEN": "99999"}, `env SRS_HTTP_SERVER_LISTEN: directive "http_server.listen": invalid port "99999"`},
		{"an alias", env{"SRS_LOG_LEVEL": "loud"}, `env SRS_LOG_LEVEL: directive "srs_log_level": invalid value "loud"`},
		{"a check across directives", env{"SRS_FLEET_EXPIRE_AFTER": "10"}, `env SRS_FLEET_EXPIRE_AFTER: directive "fleet.expire_after": must be longer than fleet.ping_interval (1s)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString("listen 1935;", tc.env)
			assertError(t, err, tc.err)
		})
	}
}
