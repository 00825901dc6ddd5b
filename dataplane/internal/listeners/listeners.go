// Package listeners keeps a server's TCP listeners: it opens a list of
// "[ip:]port" addresses, moves to another list live (new listeners open
// before removed ones close; connections already accepted are the
// server's and stay), and runs the server's serve function on each while
// the server runs.
package listeners

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"

	"tidecast.dev/dataplane/internal/media"
)

// Errors of a Set's lifecycle.
var (
	ErrClosed  = errors.New("listeners: closed")
	ErrRunning = errors.New("listeners: already running")
)

// Set is a server's listeners. Its methods are safe for concurrent use.
type Set struct {
	// serve runs on each listener until it is closed.
	serve func(net.Listener)
	log   *slog.Logger

	moveMu sync.Mutex // serialises Move

	mu      sync.Mutex
	addrs   []string // normalised, in the order asked for
	open    map[string]net.Listener
	running bool
	closed  bool
	wg      sync.WaitGroup // serve goroutines
}

// Normalize turns addresses into host:port for net.Listen, without
// duplicates.
func Normalize(addrs []string) ([]string, error) {
	var out []string
	for _, a := range addrs {
		n, err := media.ListenAddr(a)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// Open opens addrs; serve will run on each once Start is called.
func Open(addrs []string, serve func(net.Listener), log *slog.Logger) (*Set, error) {
	norm, err := Normalize(addrs)
	if err != nil {
		return nil, err
	}
	s := &Set{serve: serve, log: log, addrs: norm}
	if s.open, err = listenAll(norm, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// listenAll opens the addresses not in have; on failure it closes what it
// opened.
func listenAll(addrs []string, have map[string]net.Listener) (map[string]net.Listener, error) {
	opened := make(map[string]net.Listener)
	for _, a := range addrs {
		if _, ok := have[a]; ok {
			continue
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range opened {
				l.Close()
			}
			return nil, fmt.Errorf("listen %s: %w", a, err)
		}
		opened[a] = l
	}
	return opened, nil
}

// Addrs returns the listeners' addresses, in the order asked for.
func (s *Set) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, a := range s.addrs {
		if l, ok := s.open[a]; ok {
			out = append(out, l.Addr())
		}
	}
	return out
}

// Move makes addrs the listened addresses: it opens the new ones, then
// runs commit and closes the removed ones while holding the set's lock,
// so that what commit changes and Addrs change together. On error
// nothing changed and commit did not run.
func (s *Set) Move(addrs []string, commit func()) error {
	norm, err := Normalize(addrs)
	if err != nil {
		return err
	}
	s.moveMu.Lock()
	defer s.moveMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	have := maps.Clone(s.open)
	s.mu.Unlock()
	opened, err := listenAll(norm, have)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed { // closed while the new listeners opened
		for _, l := range opened {
			l.Close()
		}
		return ErrClosed
	}
	if commit != nil {
		commit()
	}
	s.addrs = norm
	for a, l := range opened {
		s.open[a] = l
		if s.running {
			s.start(l)
		}
	}
	for a, l := range s.open {
		if !slices.Contains(norm, a) {
			l.Close()
			delete(s.open, a)
			s.log.Info("stopped listening", "addr", a)
		}
	}
	return nil
}

// Start runs serve on every listener, and on those Move opens later.
func (s *Set) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.running:
		return ErrRunning
	}
	s.running = true
	for _, l := range s.open {
		s.start(l)
	}
	return nil
}

// Run starts serving (see Start) and returns once ctx is done or stop is
// closed; the owner then closes the set.
func (s *Set) Run(ctx context.Context, stop <-chan struct{}) error {
	if err := s.Start(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-stop:
	}
	return nil
}

// start runs serve on l; s.mu is held.
func (s *Set) start(l net.Listener) {
	s.log.Info("listening", "addr", l.Addr().String())
	s.wg.Go(func() { s.serve(l) })
}

// Close closes the listeners and waits for the serve functions to
// return. It is idempotent.
func (s *Set) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for a, l := range s.open {
			l.Close()
			delete(s.open, a)
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}
