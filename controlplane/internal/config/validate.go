package config

import (
	"fmt"
	"strings"
)

// derive fills in the values SRS computes from others.
func (l *loader) derive(getenv func(string) string) {
	c := l.cfg
	// candidate $VAR names a variable; unset means auto-detect.
	if name, ok := strings.CutPrefix(c.RTCServer.Candidate, "$"); ok {
		c.RTCServer.Candidate = getenv(name)
		if c.RTCServer.Candidate == "" {
			c.RTCServer.Candidate = "*"
		}
	}
	// SRS always writes its pid file (default ./objs/srs.pid); we write it
	// only when asked, so that a read-only container needs no writable path.
	_, c.WritePid = l.origins["pid"]
	// When the API shares the HTTP server's port, HTTPS must be shared too,
	// so the HTTPS API's default port follows the HTTPS server's.
	if _, set := l.origins["http_api.https.listen"]; !set && c.HTTPAPI.Listen == c.HTTPServer.Listen {
		c.HTTPAPI.HTTPS.Listen = c.HTTPServer.HTTPS.Listen
	}
}

// validate checks what no single directive can check alone. needListen is
// false in env-only mode, where listen defaults to 1935.
func (l *loader) validate(needListen bool) error {
	c := l.cfg
	if _, set := l.origins["listen"]; needListen && !set {
		return l.errorf("listen", "requires at least one [ip:]port")
	}
	if c.WritePid && c.PidFile == "" {
		return l.errorf("pid", "must not be empty")
	}
	if c.Log.Tank == "file" && c.Log.File == "" {
		return l.errorf("srs_log_file", "must not be empty when srs_log_tank is file")
	}
	if c.Fleet.ExpireAfter <= c.Fleet.PingInterval {
		return l.errorf("fleet.expire_after", "must be longer than fleet.ping_interval (%v)", c.Fleet.PingInterval)
	}
	if t := c.Fleet.TLS; t.Enabled && (t.Key == "" || t.Cert == "") {
		return l.errorf("fleet.tls.enabled", "requires fleet.tls.key and fleet.tls.cert")
	}
	return nil
}

// errorf locates an error at the directive or variable that set path, or
// at the main file when it was never set.
func (l *loader) errorf(path, format string, args ...any) *Error {
	e := &Error{File: l.file, Directive: path, Msg: fmt.Sprintf(format, args...)}
	if o, ok := l.origins[path]; ok {
		e.File, e.Line, e.Env = o.file, o.line, o.env
	}
	return e
}

// warnings adds the warnings about settings that are valid but do not do
// what SRS would: daemon on, which SRS in a container ignores too.
func (l *loader) warnings() {
	if o, set := l.origins["daemon"]; set && l.cfg.Daemon {
		where := fmt.Sprintf("%s:%d", fileName(o.file), o.line)
		if o.env != "" {
			where = "env " + o.env
		}
		l.warnAt(where, `directive "daemon" is on: the control plane does not fork and stays in the foreground (as SRS in a container); run it under a supervisor`)
	}
}
