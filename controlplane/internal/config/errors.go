package config

import (
	"fmt"
	"strings"
)

// SRS error codes carried by *Error.
const (
	CodeConfigInvalid = 1023 // ERROR_SYSTEM_CONFIG_INVALID
	CodeFileOpen      = 1042 // ERROR_SYSTEM_FILE_OPENE
)

// Error is the only error type this package returns. It says where the
// problem is (a file and line, or an environment variable) and which
// directive it concerns, in the configuration's own vocabulary.
type Error struct {
	File      string // config file; empty when the problem is not in a file
	Line      int    // 1-based line in File; 0 when it concerns the whole file
	Env       string // environment variable holding the bad value, if any
	Directive string // directive path such as "vhost.play.mw_latency", when known
	Msg       string
	Err       error // underlying cause, such as a file-system error

	code int // zero means CodeConfigInvalid
}

// Error reads like `srs.conf:12: directive "listen": invalid port "abc"`.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Env != "":
		fmt.Fprintf(&b, "env %s: ", e.Env)
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	}
	if e.Directive != "" {
		fmt.Fprintf(&b, "directive %q: ", e.Directive)
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Code is the SRS numeric error code: 1042 when a file could not be read,
// 1023 for everything else.
func (e *Error) Code() int {
	if e.code == 0 {
		return CodeConfigInvalid
	}
	return e.code
}
