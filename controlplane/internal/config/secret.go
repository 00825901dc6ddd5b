package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is a configured credential (the API password, the fleet token).
// Every way of printing it — any fmt verb, JSON, slog — shows "[redacted]"
// (or "" when unset, which says only that there is none); Reveal is the one
// way to read it.
type Secret string

// Reveal returns the secret itself, for the code that compares it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format is needed on top of String: fmt prints the raw value for verbs
// that do not suit a string, such as %d.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
