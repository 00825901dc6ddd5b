package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// field describes one directive that sets a value of T (Config, or Vhost for
// directives inside a vhost block). The same description serves the file,
// the environment and the documentation.
type field[T any] struct {
	path  string   // dotted directive path, "http_api.auth.enabled"; vhost ones start with "vhost."
	env   []string // override variables, first non-empty wins; nil when there is none
	list  bool     // the environment value is a space-separated list
	apply func(dst *T, args []string) error
}

// newField derives the environment name by SRS's rule: srs.a.b.c ↔ SRS_A_B_C.
func newField[T any](path string, apply func(*T, []string) error) field[T] {
	return field[T]{path: path, env: []string{envName(path)}, apply: apply}
}

func envName(path string) string {
	return "SRS_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// alias adds environment names SRS also honours, with lower precedence.
func (f field[T]) alias(names ...string) field[T] {
	f.env = append(slices.Clip(f.env), names...)
	return f
}

// scalar is a directive with exactly one value. SRS silently uses the first
// argument (or the default when there is none); we reject both mistakes.
func scalar[T, V any](path string, p func(*T) *V, parse func(string) (V, error)) field[T] {
	return newField(path, func(t *T, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("expects 1 value, got %d", len(args))
		}
		v, err := parse(args[0])
		if err != nil {
			return err
		}
		*p(t) = v
		return nil
	})
}

// optIn is a default-off switch: only "on" turns it on.
func optIn[T any](path string, p func(*T) *bool) field[T] {
	return scalar(path, p, func(s string) (bool, error) { return s == "on", nil })
}

// optOut is a default-on switch: only "off" turns it off.
func optOut[T any](path string, p func(*T) *bool) field[T] {
	return scalar(path, p, func(s string) (bool, error) { return s != "off", nil })
}

func text[T any](path string, p func(*T) *string) field[T] {
	return scalar(path, p, func(s string) (string, error) { return s, nil })
}

// identifier is server_id (see CheckServerID).
func identifier[T any](path string, p func(*T) *string) field[T] {
	return scalar(path, p, func(s string) (string, error) { return s, CheckServerID(s) })
}

// MaxServerIDLen bounds server_id; SRS generates ids like "vid-0a1b2c3".
const MaxServerIDLen = 64

// CheckServerID accepts a server id fit to appear in every API response
// and metric label: at most MaxServerIDLen bytes of printable ASCII
// without spaces. Empty means "generate one".
func CheckServerID(id string) error {
	if len(id) > MaxServerIDLen {
		return fmt.Errorf("a value of %d bytes: expecting at most %d printable ASCII characters", len(id), MaxServerIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("invalid value %s: expecting printable ASCII characters without spaces, such as vid-0a1b2c3", quoteValue(id))
		}
	}
	return nil
}

func secret[T any](path string, p func(*T) *Secret) field[T] {
	return scalar(path, p, func(s string) (Secret, error) { return Secret(s), nil })
}

func oneOf[T any](path string, p func(*T) *string, allowed ...string) field[T] {
	return scalar(path, p, func(s string) (string, error) {
		if !slices.Contains(allowed, s) {
			return "", fmt.Errorf("invalid value %s, expecting one of %s", quoteValue(s), strings.Join(allowed, ", "))
		}
		return s, nil
	})
}

// endpoint is a single [ip:]port.
func endpoint[T any](path string, p func(*T) *string) field[T] {
	return scalar(path, p, func(s string) (string, error) { return s, checkEndpoint(s) })
}

// mount is an HTTP-FLV URL path template (vhost.http_remux.mount). SRS
// picks the format by the extension; we serve FLV only, so .ts, .aac and
// .mp3 mounts are refused rather than silently not served. Without
// [stream] every stream would claim the same path.
func mount[T any](path string, p func(*T) *string) field[T] {
	return scalar(path, p, func(s string) (string, error) {
		if !strings.HasSuffix(s, ".flv") {
			return "", fmt.Errorf("invalid mount %s: must end in .flv (only HTTP-FLV is served)", quoteValue(s))
		}
		if !strings.Contains(s, "[stream]") {
			return "", fmt.Errorf("invalid mount %s: must contain [stream]", quoteValue(s))
		}
		return s, nil
	})
}

// endpoints is one or more [ip:]port.
func endpoints[T any](path string, p func(*T) *[]string) field[T] {
	f := newField(path, func(t *T, args []string) error {
		if len(args) == 0 {
			return errors.New("requires at least one [ip:]port")
		}
		for _, a := range args {
			if err := checkEndpoint(a); err != nil {
				return err
			}
		}
		*p(t) = slices.Clone(args)
		return nil
	})
	f.list = true
	return f
}

// integer is a decimal integer in [lo, hi].
func integer[T any](path string, lo, hi int, p func(*T) *int) field[T] {
	return scalar(path, p, func(s string) (int, error) { return parseInt(s, lo, hi) })
}

// duration is a decimal count of unit, at least lo of them.
func duration[T any](path string, unit time.Duration, lo int, p func(*T) *time.Duration) field[T] {
	return scalar(path, p, func(s string) (time.Duration, error) {
		n, err := parseInt(s, lo, maxInt)
		return time.Duration(n) * unit, err
	})
}

// accepted is a directive SRS itself ignores: any arguments, no effect, no
// environment variable.
func accepted[T any](path string) field[T] {
	return field[T]{path: path, apply: func(*T, []string) error { return nil }}
}

// maxInt bounds every integer so that durations cannot overflow.
const maxInt = 1<<31 - 1

// parseInt accepts plain decimal digits only: no sign, no spaces.
func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s[0] < '0' || s[0] > '9' || n < lo || n > hi {
		if hi == maxInt {
			return 0, fmt.Errorf("invalid value %s, expecting an integer of at least %d", quoteValue(s), lo)
		}
		return 0, fmt.Errorf("invalid value %s, expecting an integer in %d..%d", quoteValue(s), lo, hi)
	}
	return n, nil
}

// checkEndpoint accepts "port", "ipv4:port" and "[ipv6]:port".
func checkEndpoint(s string) error {
	port := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host := s[:i]
		port = s[i+1:]
		if inner, ok := strings.CutPrefix(host, "["); ok && strings.HasSuffix(inner, "]") {
			if a, err := netip.ParseAddr(inner[:len(inner)-1]); err != nil || !a.Is6() {
				return fmt.Errorf("invalid address %s: expecting an IPv6 address between brackets", quoteValue(s))
			}
		} else if a, err := netip.ParseAddr(host); err != nil || !a.Is4() {
			return fmt.Errorf("invalid address %s: expecting [ip:]port (IPv6 as [::1]:port)", quoteValue(s))
		}
	}
	// Port 0 asks the system for a free port (the server logs the one it got).
	if _, err := parseInt(port, 0, 65535); err != nil {
		return fmt.Errorf("invalid port %s", quoteValue(port))
	}
	return nil
}
