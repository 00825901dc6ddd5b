package app

import (
	"log/slog"
	"strings"
)

// slogLevel maps SRS's levels (verbose, info, trace, warn, error) onto
// slog's; SRS's "trace" is its normal level.
func slogLevel(srs string) slog.Level {
	switch strings.ToLower(srs) {
	case "verbose", "info":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// SlogLevel is slogLevel for the command line.
func SlogLevel(srs string) slog.Level { return slogLevel(srs) }
