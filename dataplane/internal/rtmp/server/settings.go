package server

import (
	"fmt"
	"maps"
	"time"

	"tidecast.dev/dataplane/internal/listeners"
	"tidecast.dev/dataplane/internal/media"
)

// VhostSettings are the per-vhost settings the RTMP path uses.
type VhostSettings struct {
	Enabled bool
	// GopCache keeps the last GOP so a new player starts at once.
	GopCache bool
	// MWLatency is SRS's mw_latency: a player's writes are merged over
	// this much media time; 0 writes every message as it comes.
	MWLatency time.Duration
}

// DefaultVhostSettings are SRS's defaults.
var DefaultVhostSettings = VhostSettings{Enabled: true, GopCache: true, MWLatency: 350 * time.Millisecond}

// Limits bound what one connection may take. Zero values take defaults.
type Limits struct {
	// HandshakeTimeout bounds the RTMP handshake (default 5 s): an idle
	// TCP connection holds a slot of MaxConnections that long.
	HandshakeTimeout time.Duration
	// ConnectTimeout bounds the time from the handshake to the connect
	// command (default 10 s).
	ConnectTimeout time.Duration
	// IdleTimeout bounds silence from a connection that is not playing:
	// publishers and connections negotiating (default 30 s).
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to a peer (default 30 s).
	WriteTimeout time.Duration
	// MaxChunkSize is the largest chunk size a peer may set (64 KiB).
	MaxChunkSize int
	// MaxMessageSize is the largest message a publisher may send once its
	// publish succeeded (8 MiB, at most 16 MiB - 1). Its partial messages
	// and the buffers kept for them hold at most MaxMessageSize +
	// MaxMessageSizeBeforePublish together.
	MaxMessageSize int
	// MaxMessageSizeBeforePublish is the largest message of a connection
	// that is not publishing: before connect, players, and publishers
	// until their publish succeeds (64 KiB; at most MaxMessageSize). It
	// also bounds what such a connection's partial messages hold together,
	// so a peer that has not been admitted as a publisher makes the worker
	// hold at most this much of its messages. Connect commands from ffmpeg
	// and OBS are under 1 KiB.
	MaxMessageSizeBeforePublish int
	// MaxStreamsPerConn bounds createStream calls per connection (8).
	MaxStreamsPerConn int
}

// Settings configure the server; Apply changes them live.
type Settings struct {
	// Listen holds "[ip:]port" addresses.
	Listen []string
	// ChunkSize is the chunk size the server sends with (default 60000).
	ChunkSize int
	// MaxConnections refuses connections beyond it (default 1000).
	MaxConnections int
	// MaxNegotiatingPerIP refuses a connection from an address that has
	// that many connections still negotiating: accepted, but not yet
	// publishing or playing (default 64; below 0, no limit). IPv6
	// addresses count by their /64 network, what one host usually has.
	// Negotiating takes milliseconds, so this bounds how much of
	// MaxConnections one address can hold with idle connections without
	// limiting how many clients it runs.
	MaxNegotiatingPerIP int
	// Vhosts by name; a name not found falls back to __defaultVhost__.
	// Without any vhost configured, every request gets the defaults.
	Vhosts map[string]VhostSettings
	Limits Limits
}

func (s Settings) normalized() (Settings, error) {
	if len(s.Listen) == 0 {
		return s, fmt.Errorf("server: no listen address")
	}
	listen, err := listeners.Normalize(s.Listen)
	if err != nil {
		return s, fmt.Errorf("server: %w", err)
	}
	s.Listen = listen
	s.Vhosts = maps.Clone(s.Vhosts)
	if s.ChunkSize == 0 {
		s.ChunkSize = 60000
	}
	if s.ChunkSize < 128 || s.ChunkSize > 65536 {
		return s, fmt.Errorf("server: chunk size %d out of [128, 65536]", s.ChunkSize)
	}
	if s.MaxConnections <= 0 {
		s.MaxConnections = 1000
	}
	if s.MaxNegotiatingPerIP == 0 {
		s.MaxNegotiatingPerIP = 64
	}
	l := &s.Limits
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&l.HandshakeTimeout, 5 * time.Second}, {&l.ConnectTimeout, 10 * time.Second}, {&l.IdleTimeout, 30 * time.Second}, {&l.WriteTimeout, 30 * time.Second}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	for _, d := range []struct {
		v        *int
		def, max int
	}{
		{&l.MaxChunkSize, 64 << 10, 0x7fffffff},
		{&l.MaxMessageSize, 8 << 20, 0xffffff},
		{&l.MaxMessageSizeBeforePublish, 64 << 10, 0xffffff},
		{&l.MaxStreamsPerConn, 8, 1 << 16},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
		*d.v = min(*d.v, d.max)
	}
	l.MaxMessageSizeBeforePublish = min(l.MaxMessageSizeBeforePublish, l.MaxMessageSize)
	return s, nil
}

// vhost resolves a requested vhost name to the configured one (see
// media.ResolveVhost).
func (s *Settings) vhost(name string) (string, VhostSettings, bool) {
	return media.ResolveVhost(s.Vhosts, name, DefaultVhostSettings)
}
