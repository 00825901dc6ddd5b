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
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/listeners"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/ratelog"
)

// floodLogInterval is how often the server logs each kind of event that
// comes in floods: connections refused, connections failing before
// connect. The first of an interval is logged at once, the rest counted.
const floodLogInterval = 10 * time.Second

// errTooManyNegotiating refuses a connection beyond MaxNegotiatingPerIP.
var errTooManyNegotiating = errors.New("too many connections negotiating from one address")

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

// Errors of the server's lifecycle (its listeners').
var (
	ErrClosed  = listeners.ErrClosed
	ErrRunning = listeners.ErrRunning
)

// Server serves RTMP.
type Server struct {
	reg       Registry
	log       *slog.Logger
	hub       Hub
	settings  atomic.Pointer[Settings]
	listeners *listeners.Set

	// buffered is what the connections' chunk readers hold.
	buffered atomic.Int64
	// Rate-limited logs of refusals (server full, or too many
	// connections negotiating from one address) and of connections
	// failing before connect.
	refusedFull, refusedPerIP, failedEarly *ratelog.Logger

	closeOnce sync.Once

	mu    sync.Mutex
	conns map[*conn]struct{}
	// negotiating counts, per source (see sourceOf), the connections not
	// yet publishing or playing.
	negotiating map[netip.Prefix]int
	closed      bool
	done        chan struct{}
	wg          sync.WaitGroup // connections
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
		reg:         reg,
		hub:         h,
		log:         log.With("component", "rtmp"),
		conns:       make(map[*conn]struct{}),
		negotiating: make(map[netip.Prefix]int),
		done:        make(chan struct{}),
	}
	s.refusedFull = ratelog.New(s.log, slog.LevelWarn, "refusing connections", floodLogInterval)
	s.refusedPerIP = ratelog.New(s.log, slog.LevelWarn, "refusing connections", floodLogInterval)
	s.failedEarly = ratelog.New(s.log, slog.LevelInfo, "connections failed before connect", floodLogInterval)
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
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Run serves until ctx is done or Close is called, then closes the server
// and waits for its goroutines.
func (s *Server) Run(ctx context.Context) error {
	if err := s.listeners.Run(ctx, s.done); err != nil {
		return err
	}
	return s.Close()
}

// Close closes the listeners and every connection, and waits for all
// goroutines. It is idempotent; a concurrent call returns once the first
// is done.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		s.mu.Unlock()
		s.listeners.Close() // the acceptors return
		s.mu.Lock()
		for c := range s.conns {
			c.kick()
		}
		s.mu.Unlock()
		s.wg.Wait()
		for _, l := range []*ratelog.Logger{s.refusedFull, s.refusedPerIP, s.failedEarly} {
			l.Close()
		}
	})
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

// admit starts serving nc unless the server is closed, full, or nc's
// source has MaxNegotiatingPerIP connections negotiating.
func (s *Server) admit(nc net.Conn) {
	st := s.settings.Load()
	src := sourceOf(nc.RemoteAddr())
	s.mu.Lock()
	var refusals *ratelog.Logger
	var refused error
	var limit int
	switch {
	case s.closed:
		s.mu.Unlock()
		nc.Close()
		return
	case len(s.conns) >= st.MaxConnections:
		refusals, refused, limit = s.refusedFull, media.ErrTooManyConnections, st.MaxConnections
	case st.MaxNegotiatingPerIP > 0 && s.negotiating[src] >= st.MaxNegotiatingPerIP:
		refusals, refused, limit = s.refusedPerIP, errTooManyNegotiating, st.MaxNegotiatingPerIP
	default:
		c := newConn(s, nc, st)
		c.source, c.negotiating = src, true
		s.negotiating[src]++
		s.conns[c] = struct{}{}
		s.wg.Go(func() {
			c.serve()
			s.doneNegotiating(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		})
	}
	s.mu.Unlock()
	if refusals != nil {
		nc.Close()
		refusals.Log("remote", nc.RemoteAddr().String(), "err", refused, "max", limit)
	}
}

// doneNegotiating stops counting c as negotiating, once it publishes or
// plays or ends. Only c's goroutine calls it.
func (s *Server) doneNegotiating(c *conn) {
	if !c.negotiating {
		return
	}
	c.negotiating = false
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.negotiating[c.source]--; s.negotiating[c.source] <= 0 {
		delete(s.negotiating, c.source)
	}
}

// sourceOf is what MaxNegotiatingPerIP counts connections by: the IPv4
// address, or the /64 network of an IPv6 address.
func sourceOf(addr net.Addr) netip.Prefix {
	var a netip.Addr
	if ta, ok := addr.(*net.TCPAddr); ok {
		a = ta.AddrPort().Addr()
	} else if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
		a = ap.Addr()
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits) // an invalid address gives the zero prefix, shared by all such
	return p
}

// BufferedBytes returns what the connections' chunk readers hold: their
// partial messages and the buffers kept for the next ones.
func (s *Server) BufferedBytes() int64 { return s.buffered.Load() }

// Connections returns how many connections are open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
