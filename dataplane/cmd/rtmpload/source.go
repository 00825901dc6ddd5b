package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"

	"tidecast.dev/dataplane/internal/flv"
	"tidecast.dev/dataplane/internal/rtmp/client"
)

// source is what a player reads: RTMP messages or HTTP-FLV tags.
type source interface {
	// next returns the next audio, video or data message; unpublished
	// reports the publisher leaving (RTMP's UnpublishNotify).
	next() (typ uint8, ts uint32, body []byte, unpublished bool, err error)
	// received is how many bytes came in so far.
	received() uint64
	Close() error
}

// dialSource connects to u (rtmp://host/app/stream or
// http://host/app/stream.flv) and starts playing.
func dialSource(ctx context.Context, u *url.URL, name string) (source, error) {
	if u.Scheme == "http" {
		return dialFLV(ctx, u)
	}
	c, err := client.Dial(ctx, u.String())
	if err != nil {
		return nil, err
	}
	if err := c.Play(ctx, name); err != nil {
		c.Close()
		return nil, err
	}
	return rtmpSource{c}, nil
}

type rtmpSource struct{ *client.Conn }

func (s rtmpSource) next() (uint8, uint32, []byte, bool, error) {
	m, err := s.ReadMessage()
	if err != nil {
		return 0, 0, nil, false, err
	}
	return m.Type, m.Timestamp, m.Payload, m.Status == "NetStream.Play.UnpublishNotify", nil
}

func (s rtmpSource) received() uint64 { return s.BytesReceived() }

// flvSource is an HTTP-FLV player: a GET, then the chunked body's tags.
type flvSource struct {
	nc    net.Conn
	bytes atomic.Uint64
	tags  *flv.Reader
}

func dialFLV(ctx context.Context, u *url.URL) (source, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	s := &flvSource{nc: nc}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if _, err := fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.RequestURI(), u.Host); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReader(countingConn{nc, &s.bytes})
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		nc.Close()
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if len(resp.TransferEncoding) == 0 {
		nc.Close()
		return nil, fmt.Errorf("GET %s: not chunked", u)
	}
	s.tags = flv.NewReader(resp.Body, 0) // de-chunked by ReadResponse
	return s, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

func (s *flvSource) next() (uint8, uint32, []byte, bool, error) {
	t, err := s.tags.Next()
	return t.Type, t.Timestamp, t.Body, false, err
}

func (s *flvSource) received() uint64 { return s.bytes.Load() }

func (s *flvSource) Close() error { return s.nc.Close() }
