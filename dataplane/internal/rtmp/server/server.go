// Package server is the RTMP server: listeners, the per-connection state
// machine (handshake, connect, publish/play commands) and the glue between
// connections, the stream hub and the stats registry.
//
// Goroutines: one acceptor per listener and one per connection. Players'
// media is written by the goroutine that makes it due (see player), plus,
// while a player's socket is full, a writer owned by its connection. All
// are joined by Close (or by Run returning).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/listeners"
	"tidecast.dev/dataplane/internal/media"
)

// Registry is what the server reports its clients to.
// *registry.Registry satisfies it.
type Registry interface {
	NewClientID() media.ClientID
	AddClient(media.ClientInfo, *media.Counters, func())
	RemoveClient(media.ClientID, error)
}

// Hub is the worker's stream hub, which publishers feed and players read.
// *hub.Hub satisfies it.
type Hub interface {
	Publish(media.StreamKey, media.ClientID, string, hub.PublishOptions) (*hub.Publisher, error)
	Subscribe(media.StreamKey, string, hub.ReaderOptions) (*hub.Reader, error)
}

// Errors of the server's lifecycle.
var (
	ErrClosed  = errors.New("server: closed")
	ErrRunning = errors.New("server: already running")
)

// Server serves RTMP.
type Server struct {
	reg       Registry
	log       *slog.Logger
	hub       Hub
	settings  atomic.Pointer[Settings]
	listeners *listeners.Set

	mu      sync.Mutex
	conns   map[*conn]struct{}
	running bool
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup // connections
}

// New validates the settings and opens the listeners.
func New(settings Settings, h Hub, reg Registry, log *slog.Logger) (*Server, error) {
	st, err := settings.normalized()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		reg:   reg,
		hub:   h,
		log:   log.With("component", "rtmp"),
		conns: make(map[*conn]struct{}),
		done:  make(chan struct{}),
	}
	if s.listeners, err = listeners.Open(st.Listen, s.accept, s.log); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.settings.Store(&st)
	return s, nil
}

// Addrs returns the listeners' addresses, in the order of Settings.Listen.
func (s *Server) Addrs() []net.Addr { return s.listeners.Addrs() }

// Apply changes the settings live. New listeners open before removed ones
// close, and established connections are never closed; the other settings
// apply to connections and players from now on. On error nothing changed.
func (s *Server) Apply(settings Settings) error {
	st, err := settings.normalized()
	if err != nil {
		return err
	}
	if err := s.listeners.Move(st.Listen, func() { s.settings.Store(&st) }); err != nil {
		if errors.Is(err, listeners.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Run serves until ctx is done or Close is called, then closes the server
// and waits for its goroutines.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.running {
		defer s.mu.Unlock()
		if s.closed {
			return ErrClosed
		}
		return ErrRunning
	}
	s.running = true
	s.mu.Unlock()
	if err := s.listeners.Start(); err != nil {
		return ErrClosed
	}
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return s.Close()
}

// Close closes the listeners and every connection, and waits for all
// goroutines. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.listeners.Close() // the acceptors return
	s.mu.Lock()
	for c := range s.conns {
		c.kick()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) accept(l net.Listener) {
	backoff := 5 * time.Millisecond
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait, but stop with the server.
			s.log.Warn("accept", "err", err)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.admit(nc)
	}
}

// admit starts serving nc unless the server is full or closed.
func (s *Server) admit(nc net.Conn) {
	st := s.settings.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		nc.Close()
		return
	}
	if len(s.conns) >= st.MaxConnections {
		s.log.Warn("refusing connection", "remote", nc.RemoteAddr().String(), "err", media.ErrTooManyConnections, "max", st.MaxConnections)
		nc.Close()
		return
	}
	c := newConn(s, nc, st)
	s.conns[c] = struct{}{}
	s.wg.Go(func() {
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	})
}

// Connections returns how many connections are open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
