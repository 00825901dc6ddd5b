package config

import (
	"fmt"
	"strconv"
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
//
// An Error never carries raw input: `include /etc/shadow;` must not print
// that file's first line, and reload errors reach API users
// (rpc=reload-fetch). Directive holds only a path of directive names (see
// isPath); anything else is reported as "not a directive". Values appear in
// Msg only quoted by quoteValue: short, with non-printables escaped.
type Error struct {
	File      string // config file; empty when the problem is not in a file
	Line      int    // 1-based line in File; 0 when it concerns the whole file
	Env       string // environment variable holding the bad value, if any
	Directive string // directive path such as "vhost.play.mw_latency", when known
	Msg       string
	Err       error // underlying cause, such as a file-system error

	// IncludedFrom is the include directive ("main.conf:3") that brought
	// File in, when File is an included file.
	IncludedFrom string

	code int // zero means CodeConfigInvalid
}

// Error reads like `srs.conf:12: directive "listen": invalid port "abc"`.
func (e *Error) Error() string {
	var b strings.Builder
	switch file := fileName(e.File); {
	case e.Env != "":
		fmt.Fprintf(&b, "env %s: ", e.Env)
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", file, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", file)
	}
	if e.Directive != "" {
		if isPath(e.Directive) {
			fmt.Fprintf(&b, "directive %q: ", e.Directive)
		} else {
			b.WriteString("not a directive: ")
		}
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.IncludedFrom != "" {
		fmt.Fprintf(&b, " (included from %s)", e.IncludedFrom)
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

// Bounds on what a message may quote from the input.
const (
	maxNameLen  = 64   // a directive name
	maxValueLen = 64   // a directive's value
	maxPathLen  = 1024 // a file name given to include
)

// isName reports whether s has the shape of a directive name: a letter,
// then letters, digits and '_', at most maxNameLen bytes. Only such words
// are ever quoted as names; a line of a foreign file such as
// "root:*:20228:0:99999:7:::" is not one.
func isName(s string) bool {
	if s == "" || len(s) > maxNameLen || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isPath reports whether p is a dotted path of directive names.
func isPath(p string) bool {
	if p == "" {
		return false
	}
	for part := range strings.SplitSeq(p, ".") {
		if !isName(part) {
			return false
		}
	}
	return true
}

// quoteValue quotes a directive's value for a message: Go syntax, ASCII
// only (non-printables escaped), and only when it is at most maxValueLen
// bytes; a longer value is described by its length alone.
func quoteValue(s string) string { return quoteBounded(s, maxValueLen) }

func quoteBounded(s string, max int) string {
	// Escaping can make a value four times longer: bound what is shown.
	if q := strconv.QuoteToASCII(s); len(s) <= max && len(q) <= max+2 {
		return q
	}
	return fmt.Sprintf("(a value of %d bytes, not shown)", len(s))
}

// newError locates msg at file:line and the directive join(parent, name).
// A name that is not a directive name is foreign content (an included
// file that is not a configuration, say): it is never copied; the message
// says "not a directive" and names the block it was met in, when that is
// itself a path of names.
func newError(file string, line int, parent, name, msg string) *Error {
	e := &Error{File: file, Line: line, Msg: msg}
	switch path := join(parent, name); {
	case path == "":
	case isPath(path):
		e.Directive = path
	default:
		s := "not a directive"
		if isPath(parent) {
			s += fmt.Sprintf(" (in %q)", parent)
		}
		if msg != "" {
			s += ": " + msg
		}
		e.Msg = s
	}
	return e
}

// fileName prints a file name as it is when it is plain printable ASCII,
// and quoted (bounded, escaped) otherwise: an included file's name comes
// from the configuration.
func fileName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c > '~' {
			return quoteBounded(name, maxPathLen)
		}
	}
	if len(name) > maxPathLen {
		return quoteBounded(name, maxPathLen)
	}
	return name
}
