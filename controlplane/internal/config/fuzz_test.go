package config

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser and to Load, which must
// never panic and must report every failure as a *Error; a config that
// loads always has a listen address and the default vhost. The file may
// include itself (as self.conf) to exercise includes.
func FuzzParse(f *testing.F) {
	for _, tc := range grammarCases {
		f.Add([]byte(tc.src))
	}
	f.Add([]byte("listen 1935;\ninclude self.conf;\n"))
	f.Add([]byte("listen 1935; vhost a { play { mw_latency 0; } rtc { enabled on; } hls { x y; } }"))
	f.Add([]byte("listen [::1]:1935; http_api { enabled on; auth { password 'a b'; } https { listen 1990; } }"))
	f.Add([]byte("listen 1; fleet { token t; ping_interval 10; expire_after 30; tls { enabled on; key k; cert c; } }"))
	f.Add([]byte("listen 1; max_connections 1; max_connections 2; http_stream { enabled on; } http_server { listen 1; }"))
	f.Add([]byte("listen 1; server_id \"a\x00\"; vhost a { gop_cache on; play { gop_cache off; } http_hooks { enabled on; } }"))
	f.Add([]byte("listen 1;\nroot:*:20228:0:99999:7:::\n"))

	f.Fuzz(func(t *testing.T, src []byte) {
		files := memFS{"self.conf": string(src)}
		if _, err := Parse("self.conf", src, ParseOptions{ReadFile: files.read}); err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("Parse error %T is not a *Error: %v", err, err)
			}
		}
		c, err := Load(LoadOptions{File: "self.conf", Getenv: env{}.get, ReadFile: files.read})
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("Load error %T is not a *Error: %v", err, err)
			}
			// Whatever the input, the message is printable ASCII of a
			// bounded length: raw input is never copied into it.
			msg := err.Error()
			for i := 0; i < len(msg); i++ {
				if msg[i] < ' ' || msg[i] > '~' {
					t.Fatalf("error has byte %#x: %q", msg[i], msg)
				}
			}
			if len(msg) > 3*maxPathLen {
				t.Fatalf("error of %d bytes", len(msg))
			}
			return
		}
		for _, w := range c.Warnings {
			for i := 0; i < len(w); i++ {
				if w[i] < ' ' || w[i] > '~' {
					t.Fatalf("warning has byte %#x: %q", w[i], w)
				}
			}
		}
		if _, ok := c.Vhost(DefaultVhost); !ok || len(c.Listen) == 0 {
			t.Fatalf("loaded config lacks the default vhost or a listen address: %+v", c)
		}
	})
}
