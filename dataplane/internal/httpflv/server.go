// Package httpflv serves live streams over HTTP-FLV, as SRS's http_server
// with http_remux does: GET http://worker:8080/live/livestream.flv
// answers a chunked FLV stream (the header, the metadata, the codec
// configurations and the GOP cache, then live tags) for as long as the
// stream is published.
//
// Once a request is accepted, its connection is taken over from net/http
// and written like an RTMP player's (see egress): each batch of tags is
// one HTTP chunk, written with one writev from bytes shared by every
// HTTP-FLV reader of the stream, so a player costs its connection's
// goroutine (which waits for the client to hang up) and its buffers.
package httpflv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tidecast.dev/dataplane/internal/egress"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/listeners"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/ratelog"
)

// Hub is the worker's stream hub, which players read. *hub.Hub satisfies
// it.
type Hub interface {
	Subscribe(media.StreamKey, string, hub.ReaderOptions) (*hub.Reader, error)
}

// Registry is what the server reports its clients to.
// *registry.Registry satisfies it.
type Registry interface {
	NewClientID() media.ClientID
	AddClient(media.ClientInfo, *media.Counters, func())
	RemoveClient(media.ClientID, error)
}

// VhostSettings are the per-vhost settings HTTP-FLV uses.
type VhostSettings struct {
	Enabled bool
	// Remux serves the vhost's streams at Mount (SRS's http_remux).
	Remux     bool
	Mount     string
	MWLatency time.Duration
}

// Settings configure the server; Apply changes them live.
type Settings struct {
	// Listen holds "[ip:]port" addresses; none: the server is off.
	Listen []string
	// MaxConnections refuses players beyond it (default 1000).
	MaxConnections int
	// Vhosts by name, resolved as RTMP does (media.ResolveVhost); a vhost
	// without Remux serves nothing.
	Vhosts map[string]VhostSettings
	// WriteTimeout bounds one write to a player (default 30 s).
	WriteTimeout time.Duration
}

// vhost is a vhost's settings with its parsed mount.
type vhost struct {
	VhostSettings
	mount mount
}

type settings struct {
	Settings
	vhosts map[string]vhost
}

func (s Settings) normalized() (*settings, error) {
	st := &settings{Settings: s, vhosts: make(map[string]vhost, len(s.Vhosts))}
	var err error
	if st.Listen, err = listeners.Normalize(s.Listen); err != nil {
		return nil, fmt.Errorf("httpflv: %w", err)
	}
	if st.MaxConnections <= 0 {
		st.MaxConnections = 1000
	}
	if st.WriteTimeout <= 0 {
		st.WriteTimeout = 30 * time.Second
	}
	for name, v := range s.Vhosts {
		if v.Mount == "" {
			v.Mount = DefaultMount
		}
		m, err := parseMount(v.Mount)
		if err != nil {
			return nil, fmt.Errorf("vhost %s: mount %q: %w", name, v.Mount, err)
		}
		st.vhosts[name] = vhost{VhostSettings: v, mount: m}
	}
	return st, nil
}

// defaultVhost serves every stream at the default mount when no vhost is
// configured.
var defaultVhost = func() vhost {
	m, _ := parseMount(DefaultMount)
	return vhost{VhostSettings: VhostSettings{Enabled: true, Remux: true, Mount: DefaultMount, MWLatency: 350 * time.Millisecond}, mount: m}
}()

// Errors of the server's lifecycle (its listeners').
var (
	ErrClosed  = listeners.ErrClosed
	ErrRunning = listeners.ErrRunning
)

// Server serves HTTP-FLV.
type Server struct {
	hub       Hub
	reg       Registry
	log       *slog.Logger
	http      *http.Server
	listeners *listeners.Set

	// refused logs refusals at a bounded rate (a flood is one line per
	// interval).
	refused *ratelog.Logger

	closeOnce sync.Once

	mu       sync.Mutex
	settings *settings
	players  map[*player]struct{}
	closed   bool
	done     chan struct{}
	// sessions joins the players' sessions.
	sessions sync.WaitGroup
}

// New validates the settings and opens the listeners.
func New(st Settings, h Hub, reg Registry, log *slog.Logger) (*Server, error) {
	n, err := st.normalized()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		hub:      h,
		reg:      reg,
		log:      log.With("component", "httpflv"),
		settings: n,
		players:  make(map[*player]struct{}),
		done:     make(chan struct{}),
	}
	s.refused = ratelog.New(s.log, slog.LevelWarn, "refusing players", 10*time.Second)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.listeners, err = listeners.Open(n.Listen, s.serve, s.log); err != nil {
		return nil, fmt.Errorf("httpflv: %w", err)
	}
	return s, nil
}

// Addrs returns the listeners' addresses, in the order of Settings.Listen.
func (s *Server) Addrs() []net.Addr { return s.listeners.Addrs() }

// Apply changes the settings live: new listeners open before removed ones
// close, and players are never cut off. On error nothing changed.
func (s *Server) Apply(st Settings) error {
	n, err := st.normalized()
	if err != nil {
		return err
	}
	err = s.listeners.Move(n.Listen, func() {
		s.mu.Lock()
		s.settings = n
		s.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("httpflv: %w", err)
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

// serve runs the HTTP server on l until l closes.
func (s *Server) serve(l net.Listener) {
	if err := s.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("serving", "addr", l.Addr().String(), "err", err)
	}
}

// Close closes the listeners, requests in progress and players, and
// waits for them. It is idempotent; a concurrent call returns once the
// first is done.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		for p := range s.players {
			p.out.Close()
		}
		s.mu.Unlock()
		s.listeners.Close()
		s.http.Close()
		s.sessions.Wait()
		s.refused.Close()
	})
	return nil
}

// corsHeaders are the headers SRS adds for a request with an Origin
// (http_server.crossdomain, on by default), so that a page on another
// origin can play the stream (flv.js and the like).
var corsHeaders = [][2]string{
	{"Access-Control-Allow-Origin", "*"},
	{"Access-Control-Allow-Headers", "*"},
	{"Access-Control-Allow-Methods", "*"},
	{"Access-Control-Expose-Headers", "*"},
	{"Access-Control-Allow-Credentials", "false"},
	{"Access-Control-Request-Private-Network", "true"},
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "tidecast")
	if r.Header.Get("Origin") != "" {
		for _, h := range corsHeaders {
			w.Header().Set(h[0], h[1])
		}
	}
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Content-Length", "0")
		return
	case http.MethodGet:
	default:
		w.Header().Set("Allow", "GET, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key, err := s.streamKey(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.play(w, r, key)
}

var errNoStream = errors.New("no stream here")

// streamKey resolves the request's vhost (its host, or ?vhost= /
// ?domain=, as for RTMP) and matches the path against that vhost's mount.
func (s *Server) streamKey(r *http.Request) (media.StreamKey, error) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if v := media.VhostParam(r.URL.Query()); v != "" {
		host = v
	}
	s.mu.Lock()
	st := s.settings
	s.mu.Unlock()
	name, v, ok := media.ResolveVhost(st.vhosts, strings.Trim(host, "[]"), defaultVhost)
	if !ok || !v.Enabled || !v.Remux {
		return media.StreamKey{}, errNoStream
	}
	vars, ok := v.mount.match(r.URL.Path)
	if !ok {
		return media.StreamKey{}, errNoStream
	}
	if vars["vhost"] != "" && vars["vhost"] != name {
		if n, _, ok := media.ResolveVhost(st.vhosts, vars["vhost"], defaultVhost); !ok || n != name {
			return media.StreamKey{}, errNoStream
		}
	}
	return media.StreamKey{Vhost: name, App: vars["app"], Name: vars["stream"]}, nil
}

// player is one HTTP-FLV session.
type player struct {
	id       media.ClientID
	nc       net.Conn // read by the session, written through out
	out      *egress.Conn
	counters media.Counters
}

// play answers a stream: it subscribes, takes the connection over and
// waits for the client to leave.
func (s *Server) play(w http.ResponseWriter, r *http.Request, key media.StreamKey) {
	s.mu.Lock()
	st := s.settings
	full := len(s.players) >= st.MaxConnections
	s.mu.Unlock()
	if full {
		s.refused.Log("remote", r.RemoteAddr, "err", media.ErrTooManyConnections, "max", st.MaxConnections)
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	_, vs, _ := media.ResolveVhost(st.vhosts, key.Vhost, defaultVhost)
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot stream on this connection", http.StatusInternalServerError)
		return
	}
	tcURL := "http://" + r.Host + "/" + key.App
	p := &player{id: s.reg.NewClientID()}
	log := s.log.With("conn", string(p.id), "stream", key.String())
	// The connection is ours before the reader is: a reader that stalls
	// at once (a GOP beyond the queue's bound) closes it.
	nc, brw, err := hj.Hijack()
	if err != nil {
		log.Debug("hijack", "err", err)
		return
	}
	nc.SetDeadline(time.Time{}) // the write deadline is the writer's
	p.nc, p.out = nc, egress.NewConn(nc, &p.counters, st.WriteTimeout)
	fr := &framer{}
	writer := egress.NewWriter(p.out, fr, log)
	reader, err := s.hub.Subscribe(key, tcURL, hub.ReaderOptions{
		MWLatency: vs.MWLatency,
		Flush:     writer.Flush,
		Stalled:   func() { p.out.Close() },
		Live:      true,
	})
	if err != nil {
		writeResponse(p.out, http.StatusNotFound, w.Header(), "stream not found\n")
		p.out.Close()
		return
	}
	fr.head = responseHead(http.StatusOK, w.Header(), map[string]string{
		"Content-Type": "video/x-flv", "Transfer-Encoding": "chunked", "Connection": "close", "Cache-Control": "no-cache",
	})
	// Bytes net/http read ahead are the client's; then its buffers, and
	// its goroutine, are let go: the session runs on a goroutine of its own.
	n, _ := brw.Reader.Discard(brw.Reader.Buffered())
	p.counters.RecvBytes.Add(uint64(n + requestSize(r)))
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	info := media.ClientInfo{
		ID:            p.id,
		StreamID:      reader.StreamID(),
		Type:          media.FLVPlay,
		Key:           key,
		RequestedName: key.Name + ".flv",
		IP:            ip,
		PageURL:       r.Referer(),
		TcURL:         tcURL,
		ConnectedAt:   time.Now(),
	}
	if !s.track(p, func() { s.session(p, info, reader, writer, log) }) {
		reader.Abort()
		reader.Close()
		nc.Close()
	}
}

// session plays a stream to a player until the connection ends, and
// cleans up after it.
func (s *Server) session(p *player, info media.ClientInfo, reader *hub.Reader, writer *egress.Writer, log *slog.Logger) {
	defer s.untrack(p)
	s.reg.AddClient(info, &p.counters, func() { p.out.Close() })
	log.Info("playing", "ip", info.IP)
	p.out.SetStream(reader.Counters())
	writer.Start(reader)

	// A player sends nothing more: a read ends when it hangs up or the
	// connection is closed (kick, stall, failed write, end of stream).
	err := discard(p.nc, &p.counters)
	writer.Close()
	if we := p.out.WriteErr(); we != nil && errors.Is(err, net.ErrClosed) {
		err = we
	}
	p.out.Close()
	s.reg.RemoveClient(p.id, sessionError(err))
	log.Info("closed", "err", err)
}

// responseHead renders a response's status line and headers: h, then
// set.
func responseHead(status int, h http.Header, set map[string]string) []byte {
	h = h.Clone()
	for k, v := range set {
		h.Set(k, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Write(&b)
	b.WriteString("\r\n")
	return []byte(b.String())
}

// writeResponse answers on a connection taken over from net/http.
func writeResponse(w io.Writer, status int, h http.Header, body string) {
	head := responseHead(status, h, map[string]string{
		"Content-Type": "text/plain; charset=utf-8", "Content-Length": strconv.Itoa(len(body)), "Connection": "close",
	})
	w.Write(append(head, body...))
}

// track records a player for Close and starts its session; false once
// the server closed.
func (s *Server) track(p *player, session func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.players[p] = struct{}{}
	s.sessions.Go(session)
	return true
}

func (s *Server) untrack(p *player) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.players, p)
}

// Players returns how many players are connected.
func (s *Server) Players() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.players)
}

// discard reads and counts what the client sends until the connection
// ends, and returns why.
func discard(r io.Reader, counters *media.Counters) error {
	var buf [64]byte
	for {
		n, err := r.Read(buf[:])
		counters.RecvBytes.Add(uint64(n))
		if err != nil {
			return err
		}
	}
}

// sessionError is how a connection's end fails its session: a client that
// hangs up and a stream that ended are normal ends.
func sessionError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, egress.ErrEnded) {
		return nil
	}
	return err
}

// requestSize approximates the bytes of a request's head.
func requestSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n + 2
}
