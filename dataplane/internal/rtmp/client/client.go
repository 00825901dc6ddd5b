// Package client is a lean RTMP client, publisher and player, on the same
// protocol packages as the server. It is used by tests and by a load
// generator that runs hundreds of players in one process, so it starts no
// goroutines and reuses its buffers: a player costs its socket, a read
// buffer and one payload buffer per chunk stream.
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/handshake"
)

// outChunkSize is the chunk size the client sends with.
const outChunkSize = 4096

// StatusError is an error status from the server, such as
// NetStream.Publish.BadName or NetConnection.Connect.Rejected.
type StatusError struct {
	Code        string
	Description string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("rtmp: %s: %s", e.Code, e.Description)
}

// Message is a message the server sent on the stream.
type Message struct {
	Type      uint8
	Timestamp uint32
	// Payload is valid until the next ReadMessage.
	Payload []byte
	// Status is the code of an onStatus command, such as
	// NetStream.Play.UnpublishNotify.
	Status string
}

// Conn is a connected RTMP client. ReadMessage and the write methods may
// be called from different goroutines; each from one at a time.
type Conn struct {
	nc    net.Conn
	cr    *chunk.Reader
	app   string
	tcURL string
	txid  float64
	// streamID is the message stream of the publish or play.
	streamID uint32

	wmu        sync.Mutex
	wbuf, pbuf []byte
}

// Dial connects to url ("rtmp://host[:port]/app[/...]"): TCP, the digest
// handshake and the connect command. ctx bounds the whole exchange.
func Dial(ctx context.Context, rawURL string) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("rtmp: %w", err)
	}
	if u.Scheme != "rtmp" {
		return nil, fmt.Errorf("rtmp: scheme %q", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "1935")
	}
	app, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if u.RawQuery != "" {
		app += "?" + u.RawQuery
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("rtmp: %w", err)
	}
	c := &Conn{
		nc:    nc,
		cr:    chunk.NewReader(nc, chunk.ReaderConfig{}),
		app:   app,
		tcURL: "rtmp://" + u.Host + "/" + app,
	}
	if err := c.exchange(ctx, c.connect); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// exchange runs f under ctx: its deadline and its cancellation.
func (c *Conn) exchange(ctx context.Context, f func() error) error {
	if d, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	err := f()
	if !stop() || ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	c.nc.SetDeadline(time.Time{})
	return err
}

func (c *Conn) connect() error {
	if _, err := handshake.Client(c.nc); err != nil {
		return fmt.Errorf("rtmp: %w", err)
	}
	c.wmu.Lock()
	c.wbuf = chunk.AppendSetChunkSize(c.wbuf[:0], outChunkSize)
	c.wmu.Unlock()
	_, err := c.call("connect", amf0.Object{
		{Key: "app", Value: c.app},
		{Key: "type", Value: "nonprivate"},
		{Key: "flashVer", Value: "FMLE/3.0 (compatible; tidecast)"},
		{Key: "tcUrl", Value: c.tcURL},
	})
	return err
}

// call sends a command and waits for its _result or _error; the values
// after the transaction id come back.
func (c *Conn) call(name string, args ...any) ([]any, error) {
	c.txid++
	txid := c.txid
	if err := c.sendCommand(chunk.CSIDConnection, 0, append([]any{name, txid}, args...)...); err != nil {
		return nil, err
	}
	for {
		m, err := c.next()
		if err != nil {
			return nil, err
		}
		if m.Type != chunk.TypeCommandAMF0 && m.Type != chunk.TypeCommandAMF3 {
			continue
		}
		vals, _ := decodeCommand(m)
		if len(vals) < 2 || vals[1] != txid {
			continue
		}
		switch vals[0] {
		case "_result":
			return vals[2:], nil
		case "_error":
			return nil, statusError(vals)
		}
	}
}

func decodeCommand(m *chunk.Message) ([]any, error) {
	p := m.Payload
	if m.Type == chunk.TypeCommandAMF3 && len(p) > 0 {
		p = p[1:]
	}
	return amf0.Decode(p)
}

// statusInfo returns the information object of a command (its last value).
func statusInfo(vals []any) amf0.Object {
	if len(vals) == 0 {
		return nil
	}
	obj, _ := vals[len(vals)-1].(amf0.Object)
	return obj
}

func statusError(vals []any) error {
	info := statusInfo(vals)
	return &StatusError{Code: info.String("code"), Description: info.String("description")}
}

// createStream opens the message stream for a publish or play.
func (c *Conn) createStream() error {
	vals, err := c.call("createStream", nil)
	if err != nil {
		return err
	}
	if len(vals) < 2 {
		return errors.New("rtmp: createStream answered without a stream id")
	}
	id, ok := vals[1].(float64)
	if !ok {
		return errors.New("rtmp: createStream answered without a stream id")
	}
	c.streamID = uint32(id)
	return nil
}

// awaitStatus reads until an onStatus with one of the wanted codes, or an
// error status.
func (c *Conn) awaitStatus(want ...string) error {
	for {
		m, err := c.next()
		if err != nil {
			return err
		}
		if m.Type != chunk.TypeCommandAMF0 && m.Type != chunk.TypeCommandAMF3 {
			continue
		}
		vals, _ := decodeCommand(m)
		if len(vals) == 0 || vals[0] != "onStatus" {
			continue
		}
		info := statusInfo(vals)
		if info.String("level") == "error" {
			return statusError(vals)
		}
		for _, w := range want {
			if info.String("code") == w {
				return nil
			}
		}
	}
}

// Publish starts publishing stream name (live), as encoders do
// (releaseStream and FCPublish first).
func (c *Conn) Publish(ctx context.Context, name string) error {
	return c.exchange(ctx, func() error {
		c.txid++
		if err := c.sendCommand(chunk.CSIDConnection, 0, "releaseStream", c.txid, nil, name); err != nil {
			return err
		}
		c.txid++
		if err := c.sendCommand(chunk.CSIDConnection, 0, "FCPublish", c.txid, nil, name); err != nil {
			return err
		}
		if err := c.createStream(); err != nil {
			return err
		}
		if err := c.sendCommand(chunk.CSIDStream, c.streamID, "publish", 0.0, nil, name, "live"); err != nil {
			return err
		}
		return c.awaitStatus("NetStream.Publish.Start")
	})
}

// Play starts playing stream name; media then comes from ReadMessage.
func (c *Conn) Play(ctx context.Context, name string) error {
	return c.exchange(ctx, func() error {
		if err := c.createStream(); err != nil {
			return err
		}
		if err := c.sendCommand(chunk.CSIDStream, c.streamID, "play", 0.0, nil, name, -2000.0); err != nil {
			return err
		}
		return c.awaitStatus("NetStream.Play.Start")
	})
}

// WriteMessage sends an audio, video or data message on the published
// stream.
func (c *Conn) WriteMessage(typ uint8, timestamp uint32, payload []byte) error {
	csid := chunk.CSIDStream
	switch typ {
	case chunk.TypeAudio:
		csid = chunk.CSIDAudio
	case chunk.TypeVideo:
		csid = chunk.CSIDVideo
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = chunk.AppendMessage(c.wbuf, outChunkSize, &chunk.Message{CSID: csid, Type: typ, StreamID: c.streamID, Timestamp: timestamp, Payload: payload})
	return c.flushLocked()
}

// WriteMetadata sends onMetaData as encoders do (@setDataFrame).
func (c *Conn) WriteMetadata(meta amf0.ECMAArray) error {
	p, err := amf0.Append(nil, "@setDataFrame", "onMetaData", meta)
	if err != nil {
		return err
	}
	return c.WriteMessage(chunk.TypeDataAMF0, 0, p)
}

// ReadMessage returns the next audio, video or data message, or an
// onStatus command (with Status set). It answers pings and acknowledges
// what it reads.
func (c *Conn) ReadMessage() (Message, error) {
	for {
		m, err := c.next()
		if err != nil {
			return Message{}, err
		}
		switch m.Type {
		case chunk.TypeAudio, chunk.TypeVideo, chunk.TypeDataAMF0, chunk.TypeDataAMF3:
			return Message{Type: m.Type, Timestamp: m.Timestamp, Payload: m.Payload}, nil
		case chunk.TypeCommandAMF0, chunk.TypeCommandAMF3:
			if vals, _ := decodeCommand(m); len(vals) > 0 && vals[0] == "onStatus" {
				return Message{Type: m.Type, Timestamp: m.Timestamp, Payload: m.Payload, Status: statusInfo(vals).String("code")}, nil
			}
		}
	}
}

// next reads a message, doing the protocol's chores on the way.
func (c *Conn) next() (*chunk.Message, error) {
	m, err := c.cr.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("rtmp: %w", err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if seq, due := c.cr.AckDue(); due {
		c.wbuf = chunk.AppendAck(c.wbuf, seq)
	}
	if m.Type == chunk.TypeUserControl {
		if ev, data, ok := chunk.ParseUserControl(m.Payload); ok && ev == chunk.EventPingRequest {
			c.wbuf = chunk.AppendPingResponse(c.wbuf, data)
		}
	}
	if len(c.wbuf) > 0 {
		if err := c.flushLocked(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (c *Conn) sendCommand(csid, msid uint32, vals ...any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var err error
	if c.pbuf, err = amf0.Append(c.pbuf[:0], vals...); err != nil {
		return fmt.Errorf("rtmp: %w", err)
	}
	c.wbuf = chunk.AppendMessage(c.wbuf, outChunkSize, &chunk.Message{CSID: csid, Type: chunk.TypeCommandAMF0, StreamID: msid, Payload: c.pbuf})
	return c.flushLocked()
}

func (c *Conn) flushLocked() error {
	_, err := c.nc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if err != nil {
		return fmt.Errorf("rtmp: %w", err)
	}
	return nil
}

// BytesReceived returns how many bytes of chunk stream were read since
// the handshake. Call it from the goroutine that reads.
func (c *Conn) BytesReceived() uint64 { return c.cr.Received() }

// SetReadBuffer sets the socket's receive buffer (load tests shrink it).
func (c *Conn) SetReadBuffer(bytes int) error {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		return tc.SetReadBuffer(bytes)
	}
	return nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }
