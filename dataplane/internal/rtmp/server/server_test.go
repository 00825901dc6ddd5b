package server

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"tidecast.dev/dataplane/internal/mediatest"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/client"
	"tidecast.dev/dataplane/internal/rtmp/handshake"
)

func TestTheVhostComesFromTheHostOrAQueryParameter(t *testing.T) {
	tests := []struct {
		name               string
		tcURL, app, stream string
		want               string
	}{
		{"the tcUrl's host", "rtmp://example.com:1935/live", "live", "s", "example.com"},
		{"an IP host", "rtmp://127.0.0.1/live", "live", "s", "127.0.0.1"},
		{"an IPv6 host", "rtmp://[::1]:1935/live", "live", "s", "::1"},
		{"vhost in the tcUrl", "rtmp://1.2.3.4/live?vhost=a.com", "live", "s", "a.com"},
		{"domain in the app", "rtmp://1.2.3.4/live?domain=b.com", "live?domain=b.com", "s", "b.com"},
		{"vhost in the stream name wins", "rtmp://1.2.3.4/live?vhost=a.com", "live", "s?vhost=c.com&token=x", "c.com"},
		{"a tcUrl without scheme", "live", "live", "s", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requestedVhost(tt.tcURL, tt.app, tt.stream); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnknownVhostsFallBackToTheDefaultVhost(t *testing.T) {
	st := Settings{Vhosts: map[string]VhostSettings{
		media.DefaultVhost: {Enabled: true, MWLatency: time.Second},
		"off.com":          {Enabled: false},
		"a.com":            {Enabled: true},
	}}
	tests := []struct {
		name, vhost, want string
		enabled           bool
	}{
		{"a configured vhost", "a.com", "a.com", true},
		{"an unknown vhost", "b.com", media.DefaultVhost, true},
		{"a disabled vhost", "off.com", "off.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, vs, ok := st.vhost(tt.vhost)
			if !ok || got != tt.want || vs.Enabled != tt.enabled {
				t.Fatalf("got %q %+v %v", got, vs, ok)
			}
		})
	}
	if _, _, ok := (&Settings{Vhosts: map[string]VhostSettings{"a.com": {Enabled: true}}}).vhost("b.com"); ok {
		t.Fatal("an unknown vhost resolved without a default vhost")
	}
	if name, vs, ok := (&Settings{}).vhost("x"); !ok || name != media.DefaultVhost || vs != DefaultVhostSettings {
		t.Fatal("without vhosts the defaults do not apply")
	}
}

func TestSettingsAreValidated(t *testing.T) {
	for _, st := range []Settings{
		{},
		{Listen: []string{"nonsense"}},
		{Listen: []string{"1935"}, ChunkSize: 64},
	} {
		if _, err := New(st, nil, nil, nil); err == nil {
			t.Fatalf("%+v accepted", st)
		}
	}
}

// rawConn speaks RTMP by hand, for what the client package does not do.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	cr *chunk.Reader
}

func rawDial(t *testing.T, srv *testServer) *rawConn {
	nc, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := handshake.Client(nc); err != nil {
		t.Fatal(err)
	}
	return &rawConn{t: t, nc: nc, cr: chunk.NewReader(nc, chunk.ReaderConfig{})}
}

func (c *rawConn) send(typ uint8, msid uint32, vals ...any) {
	c.t.Helper()
	p, err := amf0.Append(nil, vals...)
	if err != nil {
		c.t.Fatal(err)
	}
	if typ == chunk.TypeCommandAMF3 {
		p = append([]byte{0}, p...)
	}
	if _, err := c.nc.Write(chunk.AppendMessage(nil, 128, &chunk.Message{CSID: 3, Type: typ, StreamID: msid, Payload: p})); err != nil {
		c.t.Fatal(err)
	}
}

// await reads until a command named name, returning its values.
func (c *rawConn) await(name string) []any {
	c.t.Helper()
	for {
		m, err := c.cr.ReadMessage()
		if err != nil {
			c.t.Fatalf("awaiting %s: %v", name, err)
		}
		if m.Type != chunk.TypeCommandAMF0 {
			continue
		}
		if vals, _ := amf0.Decode(m.Payload); len(vals) > 0 && vals[0] == name {
			return vals
		}
	}
}

func (c *rawConn) connect(tcURL string) {
	c.send(chunk.TypeCommandAMF3, 0, "connect", 1.0, amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: tcURL}, {Key: "pageUrl", Value: "http://page"}, {Key: "swfUrl", Value: "http://swf"}})
	if vals := c.await("_result"); vals[1] != 1.0 {
		c.t.Fatalf("connect: %v", vals)
	}
}

func TestAFlashPublisherWithoutFCPublishIsAFlashPublisher(t *testing.T) {
	srv := startServer(t, Settings{})
	c := rawDial(t, srv)
	c.connect("rtmp://" + srv.addr + "/live")
	c.send(chunk.TypeCommandAMF0, 0, "createStream", 2.0, nil)
	if vals := c.await("_result"); vals[3] != 1.0 {
		t.Fatalf("createStream: %v", vals)
	}
	c.send(chunk.TypeCommandAMF0, 1, "publish", 0.0, nil, "flash?token=1", "live")
	if info := c.await("onStatus")[3].(amf0.Object); info.String("code") != "NetStream.Publish.Start" {
		t.Fatalf("publish: %v", info)
	}
	pubs := mediatest.ClientsOf(srv.reg, media.FlashPublish)
	if len(pubs) != 1 || pubs[0].PageURL != "http://page" || pubs[0].SwfURL != "http://swf" || pubs[0].RequestedName != "flash" || pubs[0].Key.Name != "flash" {
		t.Fatalf("flash publishers %+v", pubs)
	}
}

func TestAConnectWithoutAppTakesItFromTheTcURL(t *testing.T) {
	srv := startServer(t, Settings{})
	c := rawDial(t, srv)
	c.send(chunk.TypeCommandAMF0, 0, "connect", 1.0, amf0.Object{{Key: "tcUrl", Value: "rtmp://" + srv.addr + "/live?vhost=v.com"}})
	c.await("_result")
	c.send(chunk.TypeCommandAMF0, 0, "createStream", 2.0, nil)
	c.await("_result")
	c.send(chunk.TypeCommandAMF0, 1, "publish", 0.0, nil, "tcurl-only", "live")
	if info := c.await("onStatus")[3].(amf0.Object); info.String("code") != "NetStream.Publish.Start" {
		t.Fatalf("publish: %v", info)
	}
	pubs := mediatest.ClientsOf(srv.reg, media.FlashPublish)
	want := media.StreamKey{Vhost: media.DefaultVhost, App: "live", Name: "tcurl-only"}
	if len(pubs) != 1 || pubs[0].Key != want {
		t.Fatalf("publishers %+v, want the key %v", pubs, want)
	}
}

func TestTheAppOfATcURLIsItsPath(t *testing.T) {
	tests := []struct{ tcURL, want string }{
		{"rtmp://h:1935/live", "live"},
		{"rtmp://h/live/", "live"},
		{"rtmp://h/live?vhost=v.com", "live"},
		{"rtmp://h/a/b?x=/y", "a/b"},
		{"rtmp://h", ""},
		{"rtmp://h?x=1/2", ""},
		{"live", ""},
	}
	for _, tt := range tests {
		if got := appOf(tt.tcURL); got != tt.want {
			t.Errorf("appOf(%q) = %q, want %q", tt.tcURL, got, tt.want)
		}
	}
}

// FuzzURL feeds the RTMP URL parsers: never a panic, and what they
// return comes from their input.
func FuzzURL(f *testing.F) {
	f.Add("rtmp://h:1935/live?vhost=v.com", "live", "s?domain=d.com&token=1")
	f.Add("rtmp://[::1]/a/b", "", "s")
	f.Add("://", "?", "?vhost=")
	f.Fuzz(func(t *testing.T, tcURL, app, stream string) {
		_ = requestedVhost(tcURL, app, stream) // a vhost may be decoded from a query
		if a := appOf(tcURL); !strings.Contains(tcURL, a) || strings.ContainsRune(a, '?') {
			t.Fatalf("appOf(%q) = %q", tcURL, a)
		}
		if h := hostOf(tcURL); !strings.Contains(tcURL, h) {
			t.Fatalf("hostOf(%q) = %q", tcURL, h)
		}
		if name := stripQuery(stream); strings.ContainsRune(name, '?') {
			t.Fatalf("stripQuery(%q) = %q", stream, name)
		}
	})
}

func TestThePingRequestIsAnswered(t *testing.T) {
	srv := startServer(t, Settings{})
	c := rawDial(t, srv)
	c.connect("rtmp://" + srv.addr + "/live")
	c.nc.Write(chunk.AppendPingRequest(nil, 4242))
	for {
		m, err := c.cr.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if ev, data, ok := chunk.ParseUserControl(m.Payload); m.Type == chunk.TypeUserControl && ok && ev == chunk.EventPingResponse {
			if data != 4242 {
				t.Fatalf("ping response %d", data)
			}
			return
		}
	}
}

func TestLimitsEndMisbehavingConnections(t *testing.T) {
	srv := startServer(t, Settings{Limits: Limits{
		HandshakeTimeout: 200 * time.Millisecond, ConnectTimeout: 200 * time.Millisecond,
		IdleTimeout: 300 * time.Millisecond, MaxStreamsPerConn: 2, MaxMessageSize: 1 << 16,
	}})
	closedWithin := func(t *testing.T, nc net.Conn, within time.Duration) {
		t.Helper()
		nc.SetReadDeadline(time.Now().Add(within))
		if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("not closed within %v: %v", within, err)
		}
	}
	t.Run("a silent connection is closed after the handshake timeout", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		closedWithin(t, nc, 2*time.Second)
	})
	t.Run("a connection without connect is closed after the connect timeout", func(t *testing.T) {
		closedWithin(t, rawDial(t, srv).nc, 2*time.Second)
	})
	t.Run("an idle connection is closed after the idle timeout", func(t *testing.T) {
		c := rawDial(t, srv)
		c.connect("rtmp://" + srv.addr + "/live")
		closedWithin(t, c.nc, 2*time.Second)
	})
	t.Run("too many streams end the connection", func(t *testing.T) {
		c := rawDial(t, srv)
		c.connect("rtmp://" + srv.addr + "/live")
		for i := range 3 {
			c.send(chunk.TypeCommandAMF0, 0, "createStream", float64(2+i), nil)
		}
		closedWithin(t, c.nc, 2*time.Second)
	})
	t.Run("a message above the size limit ends the connection", func(t *testing.T) {
		c := rawDial(t, srv)
		c.connect("rtmp://" + srv.addr + "/live")
		c.nc.Write(chunk.AppendMessage(nil, 128, &chunk.Message{CSID: 6, Type: chunk.TypeVideo, StreamID: 1, Payload: make([]byte, 1<<17)}))
		closedWithin(t, c.nc, 2*time.Second)
	})
	t.Run("a disabled vhost is rejected", func(t *testing.T) {
		srv := startServer(t, Settings{Vhosts: map[string]VhostSettings{"off.com": {}, media.DefaultVhost: DefaultVhostSettings}})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := client.Dial(ctx, srv.url("live?vhost=off.com"))
		var se *client.StatusError
		if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" {
			t.Fatalf("got %v", err)
		}
	})
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

func TestApplyMovesListenersWithoutDroppingConnections(t *testing.T) {
	// Merged writes over an hour: a single frame is never written alone.
	slow := map[string]VhostSettings{media.DefaultVhost: {Enabled: true, MWLatency: time.Hour}}
	srv := startServer(t, Settings{Vhosts: slow})
	pub := goPublish(t, srv, "moving")
	goPlay(t, srv, "moving")
	old := srv.addr

	if err := srv.Apply(Settings{Listen: []string{"127.0.0.1:0", "127.0.0.1:99999"}}); err == nil {
		t.Fatal("a listen address that cannot open was applied")
	}
	if got := srv.Addrs(); len(got) != 1 || got[0].String() != old {
		t.Fatalf("a failed Apply changed the listeners: %v", got)
	}

	realtime := map[string]VhostSettings{media.DefaultVhost: {Enabled: true}}
	if err := srv.Apply(Settings{Listen: []string{"127.0.0.2:0"}, Vhosts: realtime}); err != nil {
		t.Fatal(err)
	}
	addrs := srv.Addrs()
	if len(addrs) != 1 || addrs[0].String() == old {
		t.Fatalf("listeners after Apply: %v", addrs)
	}
	if nc, err := net.DialTimeout("tcp", old, time.Second); err == nil {
		nc.Close()
		t.Fatal("the old listener still accepts")
	}
	if n := srv.Connections(); n != 2 || len(mediatest.ClientsOf(srv.reg, media.RTMPPlay)) != 1 {
		t.Fatalf("%d connections survived Apply", n)
	}

	// A new player gets the new vhost settings: every frame at once.
	srv.addr = addrs[0].String()
	late := goPlay(t, srv, "moving")
	readMedia(t, late, chunk.TypeVideo) // the sequence header
	for i := range 3 {
		pub.WriteMessage(chunk.TypeVideo, uint32(i*33), frame(i, 100, true))
		if m := readMedia(t, late, chunk.TypeVideo); m.Timestamp != uint32(i*33) {
			t.Fatalf("frame %d at %d", i, m.Timestamp)
		}
	}
}

func TestCloseEndsEveryConnection(t *testing.T) {
	srv := startServer(t, Settings{})
	goPublish(t, srv, "c")
	goPlay(t, srv, "c")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Connections(); n != 0 {
		t.Fatalf("%d connections after Close", n)
	}
	if len(srv.reg.Snapshot().Clients) != 0 || len(srv.reg.Snapshot().Streams) != 0 {
		t.Fatal("the registry kept clients or streams")
	}
	if err := srv.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}
