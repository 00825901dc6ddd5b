package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/egress"
	"tidecast.dev/dataplane/internal/flv"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/handshake"
)

// readBufferSize is each connection's chunk read buffer. Players only send
// a few small messages; a publisher's large chunks bypass the buffer
// (bufio reads them straight into the message).
const readBufferSize = 4 << 10

// What the server announces after connect, as SRS does.
const (
	windowAckSize = 2500000
	peerBandwidth = 2500000
	fmsVersion    = "FMS/3,5,3,888"
)

// MessageStreamID is the message stream id every stream is played and
// published on: the server answers every createStream with it, as SRS
// does, so one encoding of a packet fits every player.
const MessageStreamID = 1

// conn is one RTMP connection. Its goroutine (serve) reads and answers
// commands; a playing connection's media is written by its player (an
// egress.Writer), whose writers endSession joins.
type conn struct {
	srv         *Server
	nc          net.Conn
	id          media.ClientID
	ip          string
	log         *slog.Logger
	limits      Limits
	connectedAt time.Time
	counters    media.Counters
	// source is what the server counts c by while negotiating is set:
	// from its admission until its first publish or play, or its end.
	source      netip.Prefix
	negotiating bool

	in countingReader
	cr *chunk.Reader
	// out serialises writes: replies from serve, media from the player.
	out *egress.Conn

	// Owned by the serve goroutine.
	wbuf, pbuf     []byte // message and AMF payload scratch
	outChunk       int    // the chunk size the peer was told
	connected      bool
	app, tcURL     string
	pageURL        string
	swfURL         string
	objectEncoding float64
	fmle           bool // releaseStream or FCPublish seen: an encoder
	streams        int  // createStream calls
	publisher      *hub.Publisher
	demux          flv.Demuxer
	player         *egress.Writer
	registered     bool
}

// countingReader counts what the connection reads and, while idle is
// set, pushes the read deadline before every read. While publishing, it
// flushes the players before the connection waits for more: messages
// that arrive together then go out together, and none waits.
type countingReader struct {
	nc       net.Conn
	out      *egress.Conn
	idle     time.Duration
	counters *media.Counters
	// stream receives the bytes read while publishing; flush hands the
	// players what is due.
	stream *media.StreamCounters
	flush  func()
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.flush != nil {
		if n, ok := r.out.ReadNow(p); ok {
			r.count(n)
			return n, nil
		}
		r.flush()
	}
	if r.idle > 0 {
		if err := r.nc.SetReadDeadline(time.Now().Add(r.idle)); err != nil {
			return 0, err
		}
	}
	n, err := r.nc.Read(p)
	r.count(n)
	return n, err
}

func (r *countingReader) count(n int) {
	r.counters.RecvBytes.Add(uint64(n))
	if r.stream != nil {
		r.stream.RecvBytes.Add(uint64(n))
	}
}

func newConn(s *Server, nc net.Conn, st *Settings) *conn {
	id := s.reg.NewClientID()
	ip := nc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	c := &conn{
		srv:         s,
		nc:          nc,
		id:          id,
		ip:          ip,
		log:         s.log.With("conn", string(id), "ip", ip),
		limits:      st.Limits,
		connectedAt: time.Now(),
		outChunk:    chunk.DefaultChunkSize,
	}
	c.out = egress.NewConn(nc, &c.counters, st.Limits.WriteTimeout)
	c.in = countingReader{nc: nc, out: c.out, counters: &c.counters}
	return c
}

// kick closes the socket at once; both goroutines then wind down. It is
// safe from any goroutine, any number of times.
func (c *conn) kick() { c.nc.Close() }

// flush sends what was appended to c.wbuf.
func (c *conn) flush() error {
	_, err := c.out.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

func (c *conn) serve() {
	c.log.Debug("accepted")
	err := c.run()
	if we := c.out.WriteErr(); we != nil && errors.Is(err, net.ErrClosed) {
		err = we
	}
	failure := sessionError(err)
	c.endSession(failure)
	c.nc.Close()
	if c.cr != nil {
		c.cr.Release()
	}
	switch {
	case failure == nil, errors.Is(err, net.ErrClosed): // our own close was logged where decided
		c.log.Debug("closed", "err", err)
	case !c.connected:
		// Handshakes and connects failing come in floods from scanners
		// and attacks: a line per interval.
		c.log.Debug("closed", "err", err)
		c.srv.failedEarly.Log("conn", string(c.id), "ip", c.ip, "err", err)
	default:
		c.log.Info("closed", "err", err)
	}
}

// sessionError is how the connection's end, err, ends the session it cuts
// short, for the registry's count of failed clients. The peer closing the
// connection is graceful (nil): at a chunk boundary (EOF), or with a
// reset, which is how a player with media still unread hangs up.
// Anything else is an error: protocol errors, limits, timeouts, a
// connection closed mid-chunk, and the worker closing it (a stalled
// player, a failed write, shutdown; a kick too, but the registry counts
// a kick as graceful).
func sessionError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return err
}

func (c *conn) run() error {
	if err := c.nc.SetDeadline(time.Now().Add(c.limits.HandshakeTimeout)); err != nil {
		return err
	}
	hs, err := handshake.Server(struct {
		io.Reader
		io.Writer
	}{&c.in, c.out})
	if err != nil {
		return err
	}
	c.log.Debug("handshake done", "digest", hs.Complex)
	// The connect command must come within ConnectTimeout; afterwards the
	// idle timeout applies (see onConnect).
	if err := c.nc.SetReadDeadline(time.Now().Add(c.limits.ConnectTimeout)); err != nil {
		return err
	}
	// Until a publish succeeds, messages are small and so is what the
	// reader may hold (see Limits.MaxMessageSizeBeforePublish).
	small := c.limits.MaxMessageSizeBeforePublish
	c.cr = chunk.NewReader(&c.in, chunk.ReaderConfig{
		MaxChunkSize: c.limits.MaxChunkSize, MaxMessageSize: small, MaxBuffered: small,
		BufferSize: readBufferSize, Buffered: &c.srv.buffered,
	})
	for {
		m, err := c.cr.ReadMessage()
		if err != nil {
			return fmt.Errorf("reading: %w", err)
		}
		if seq, due := c.cr.AckDue(); due {
			c.wbuf = chunk.AppendAck(c.wbuf, seq)
			if err := c.flush(); err != nil {
				return err
			}
		}
		if err := c.handle(m); err != nil {
			return err
		}
	}
}

func (c *conn) handle(m *chunk.Message) error {
	switch m.Type {
	case chunk.TypeCommandAMF0, chunk.TypeCommandAMF3:
		return c.command(m)
	case chunk.TypeAudio, chunk.TypeVideo, chunk.TypeDataAMF0, chunk.TypeDataAMF3:
		if c.publisher != nil {
			c.ingest(m) // flushed by c.in
		}
	case chunk.TypeAggregate:
		// The sub-messages share m's payload, which ingest does not
		// retain. A malformed tag drops the rest of the aggregate, not the
		// connection (SRS drops it): the tags before it went through.
		if c.publisher != nil {
			if err := chunk.SplitAggregate(m, c.ingest); err != nil {
				c.log.Debug("malformed aggregate", "err", err)
			}
		}
	case chunk.TypeUserControl:
		if ev, data, ok := chunk.ParseUserControl(m.Payload); ok && ev == chunk.EventPingRequest {
			c.wbuf = chunk.AppendPingResponse(c.wbuf, data)
			return c.flush()
		}
	}
	return nil
}

// errRejected ends a connection the server refused (after telling why).
var errRejected = errors.New("rejected")

func (c *conn) command(m *chunk.Message) error {
	p := m.Payload
	if m.Type == chunk.TypeCommandAMF3 && len(p) > 0 {
		p = p[1:] // AMF3 commands are AMF0 after a format byte
	}
	// Keep what decodes: some clients pad commands with values we do not
	// need and cannot decode.
	vals, err := amf0.Decode(p)
	if len(vals) < 2 {
		return fmt.Errorf("command: %d values: %w", len(vals), err)
	}
	name, _ := vals[0].(string)
	txid, _ := vals[1].(float64)
	args := vals[2:]
	if name == "connect" {
		return c.onConnect(txid, args)
	}
	if !c.connected {
		return fmt.Errorf("command %q before connect", name)
	}
	switch name {
	case "releaseStream", "FCPublish":
		c.fmle = true
		return c.result(txid, nil, amf0.Undefined{})
	case "createStream":
		if c.streams++; c.streams > c.limits.MaxStreamsPerConn {
			return fmt.Errorf("createStream beyond %d streams", c.limits.MaxStreamsPerConn)
		}
		// Every stream is MessageStreamID, as in SRS, so that the hub's
		// encodings fit every player.
		return c.result(txid, nil, float64(MessageStreamID))
	case "publish":
		return c.onPublish(stringArg(args, 1))
	case "play":
		return c.onPlay(stringArg(args, 1))
	case "FCUnpublish":
		c.endSession(nil)
		return c.result(txid, nil, amf0.Undefined{})
	case "deleteStream", "closeStream":
		c.endSession(nil)
	case "getStreamLength":
		return c.result(txid, nil, 0.0)
	default:
		c.log.Debug("ignoring command", "name", name)
	}
	return nil
}

func stringArg(args []any, i int) string {
	if i < len(args) {
		s, _ := args[i].(string)
		return s
	}
	return ""
}

func (c *conn) onConnect(txid float64, args []any) error {
	if c.connected {
		return errors.New("connect twice")
	}
	var obj amf0.Object
	if len(args) > 0 {
		obj, _ = args[0].(amf0.Object)
	}
	c.app, c.tcURL = strings.Trim(obj.String("app"), "/"), obj.String("tcUrl")
	if c.app == "" {
		c.app = appOf(c.tcURL) // some clients send only the tcUrl
	}
	c.pageURL, c.swfURL = obj.String("pageUrl"), obj.String("swfUrl")
	c.objectEncoding, _ = obj.Number("objectEncoding")
	st := c.srv.settings.Load()
	vhost := requestedVhost(c.tcURL, c.app, "")
	if _, vs, ok := st.vhost(vhost); !ok || !vs.Enabled {
		c.appendCommand(chunk.CSIDConnection, 0, "_error", txid, nil,
			status("error", "NetConnection.Connect.Rejected", "vhost "+vhost+" is not served"))
		c.flush()
		return fmt.Errorf("connect to vhost %q: %w", vhost, errRejected)
	}
	c.connected = true
	c.in.idle = c.limits.IdleTimeout
	c.log = c.log.With("tcUrl", stripQuery(c.tcURL))

	c.wbuf = chunk.AppendWindowAckSize(c.wbuf, windowAckSize)
	c.wbuf = chunk.AppendSetPeerBandwidth(c.wbuf, peerBandwidth, chunk.LimitDynamic)
	c.wbuf = chunk.AppendSetChunkSize(c.wbuf, uint32(st.ChunkSize))
	c.outChunk = st.ChunkSize
	c.appendCommand(chunk.CSIDConnection, 0, "_result", txid,
		amf0.Object{{Key: "fmsVer", Value: fmsVersion}, {Key: "capabilities", Value: 127.0}, {Key: "mode", Value: 1.0}},
		amf0.Object{
			{Key: "level", Value: "status"},
			{Key: "code", Value: "NetConnection.Connect.Success"},
			{Key: "description", Value: "Connection succeeded"},
			{Key: "objectEncoding", Value: c.objectEncoding},
			{Key: "data", Value: amf0.ECMAArray{{Key: "version", Value: "3,5,3,888"}, {Key: "server", Value: "tidecast"}}},
		})
	c.appendCommand(chunk.CSIDConnection, 0, "onBWDone", 0.0, nil)
	return c.flush()
}

// streamKey resolves a publish or play request with the current settings.
func (c *conn) streamKey(name string) (media.StreamKey, VhostSettings, error) {
	if stripQuery(name) == "" {
		return media.StreamKey{}, VhostSettings{}, errors.New("empty stream name")
	}
	requested := requestedVhost(c.tcURL, c.app, name)
	vhost, vs, ok := c.srv.settings.Load().vhost(requested)
	if !ok || !vs.Enabled {
		return media.StreamKey{}, vs, fmt.Errorf("vhost %q: %w", requested, errRejected)
	}
	return media.StreamKey{Vhost: vhost, App: stripQuery(c.app), Name: stripQuery(name)}, vs, nil
}

func (c *conn) busy() bool { return c.publisher != nil || c.player != nil }

func (c *conn) onPublish(name string) error {
	if c.busy() {
		return errors.New("publish during a session")
	}
	key, vs, err := c.streamKey(name)
	if err != nil {
		return c.refuse("NetStream.Publish.Denied", err)
	}
	form := chunkForm{size: c.srv.settings.Load().ChunkSize}
	pub, err := c.srv.hub.Publish(key, c.id, stripQuery(c.tcURL), hub.PublishOptions{GOPCache: vs.GopCache, Ingest: form.ingest})
	if err != nil {
		return c.refuse("NetStream.Publish.BadName", fmt.Errorf("publish %s: %w", key, err))
	}
	c.publisher, c.demux = pub, flv.Demuxer{}
	c.in.stream, c.in.flush = pub.Counters(), pub.Flush
	c.cr.SetLimits(c.limits.MaxMessageSize, c.limits.MaxMessageSize+c.limits.MaxMessageSizeBeforePublish)
	typ := media.FlashPublish
	if c.fmle {
		typ = media.FMLEPublish
	}
	c.register(typ, key, name, pub.StreamID())
	c.log.Info("publishing", "stream", key.String(), "type", typ)
	start := status("status", "NetStream.Publish.Start", "Started publishing stream.")
	if c.fmle {
		c.appendCommand(chunk.CSIDStream, MessageStreamID, "onFCPublish", 0.0, nil, start)
	}
	c.appendCommand(chunk.CSIDStream, MessageStreamID, "onStatus", 0.0, nil, append(start, amf0.Property{Key: "clientid", Value: string(c.id)}))
	return c.flush()
}

// refuse answers a publish or play with an error status and ends the
// connection with err.
func (c *conn) refuse(code string, err error) error {
	c.appendCommand(chunk.CSIDStream, MessageStreamID, "onStatus", 0.0, nil, status("error", code, err.Error()))
	c.flush()
	return err
}

func (c *conn) onPlay(name string) error {
	if c.busy() {
		return errors.New("play during a session")
	}
	key, vs, err := c.streamKey(name)
	if err != nil {
		return c.refuse("NetStream.Play.StreamNotFound", err)
	}
	// The new reader is ours until the player takes its first batches,
	// after the replies.
	framer := &framer{form: chunkForm{size: c.outChunk}}
	p := egress.NewWriter(c.out, framer, c.log)
	r, err := c.srv.hub.Subscribe(key, stripQuery(c.tcURL), hub.ReaderOptions{MWLatency: vs.MWLatency, Flush: p.Flush, Stalled: c.kick})
	if err != nil {
		return c.refuse("NetStream.Play.StreamNotFound", err)
	}
	c.register(media.RTMPPlay, key, name, r.StreamID())
	c.log.Info("playing", "stream", key.String(), "mw_latency", vs.MWLatency)

	c.wbuf = chunk.AppendStreamBegin(c.wbuf, MessageStreamID)
	details := amf0.Property{Key: "details", Value: name}
	c.appendCommand(chunk.CSIDStream, MessageStreamID, "onStatus", 0.0, nil,
		append(status("status", "NetStream.Play.Reset", "Playing and resetting stream."), details))
	c.appendCommand(chunk.CSIDStream, MessageStreamID, "onStatus", 0.0, nil,
		append(status("status", "NetStream.Play.Start", "Started playing stream."), details))
	c.appendData("|RtmpSampleAccess", false, false)
	c.appendData("onStatus", amf0.Object{{Key: "code", Value: "NetStream.Data.Start"}})
	if err := c.flush(); err != nil {
		r.Abort()
		r.Close()
		c.endSession(sessionError(err))
		return err
	}

	c.appendCommand(chunk.CSIDStream, MessageStreamID, "onStatus", 0.0, nil,
		status("status", "NetStream.Play.UnpublishNotify", "The stream is unpublished."))
	framer.notice, c.wbuf = c.wbuf, nil
	c.player = p
	c.out.SetStream(r.Counters())
	// A player need not send anything: only a closed socket ends it.
	c.in.idle = 0
	err = c.nc.SetReadDeadline(time.Time{})
	p.Start(r) // the first batches, and the reader is let go in any case
	return err
}

func (c *conn) register(t media.ClientType, key media.StreamKey, name string, sid media.StreamID) {
	c.srv.reg.AddClient(media.ClientInfo{
		ID:            c.id,
		StreamID:      sid,
		Type:          t,
		Key:           key,
		RequestedName: stripQuery(name),
		IP:            c.ip,
		PageURL:       c.pageURL,
		SwfURL:        c.swfURL,
		TcURL:         stripQuery(c.tcURL),
		ConnectedAt:   c.connectedAt,
	}, &c.counters, c.kick)
	c.registered = true
	c.srv.doneNegotiating(c)
}

// endSession ends a publish or play session, if any: the stream hears of
// it, the writer is joined and the client leaves the registry, failed if
// failure is not nil (see sessionError). The connection stays open for
// another session.
func (c *conn) endSession(failure error) {
	if c.publisher != nil {
		c.publisher.Close()
		c.publisher, c.in.stream, c.in.flush = nil, nil, nil
		small := c.limits.MaxMessageSizeBeforePublish
		c.cr.SetLimits(small, small)
	}
	if p := c.player; p != nil {
		p.Close()
		c.player = nil
		c.out.SetStream(nil)
		c.in.idle = c.limits.IdleTimeout
	}
	if c.registered {
		c.srv.reg.RemoveClient(c.id, failure)
		c.registered = false
	}
}

func status(level, code, description string) amf0.Object {
	return amf0.Object{{Key: "level", Value: level}, {Key: "code", Value: code}, {Key: "description", Value: description}}
}

// appendCommand appends an AMF0 command message to c.wbuf.
func (c *conn) appendCommand(csid, msid uint32, vals ...any) {
	c.appendAMF(chunk.TypeCommandAMF0, csid, msid, vals)
}

// appendData appends an AMF0 data message on the play stream to c.wbuf.
func (c *conn) appendData(vals ...any) {
	c.appendAMF(chunk.TypeDataAMF0, chunk.CSIDStream, MessageStreamID, vals)
}

func (c *conn) appendAMF(typ uint8, csid, msid uint32, vals []any) {
	var err error
	if c.pbuf, err = amf0.Append(c.pbuf[:0], vals...); err != nil {
		// Only values built here are encoded: this is a bug, not input.
		c.log.Error("encoding a reply", "values", vals, "err", err)
		return
	}
	c.wbuf = chunk.AppendMessage(c.wbuf, c.outChunk, &chunk.Message{CSID: csid, Type: typ, StreamID: msid, Payload: c.pbuf})
}

func (c *conn) result(txid float64, vals ...any) error {
	c.appendCommand(chunk.CSIDConnection, 0, append([]any{"_result", txid}, vals...)...)
	return c.flush()
}
