package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/client"
	"tidecast.dev/dataplane/internal/rtmp/server"
)

func startServer(t *testing.T) string {
	t.Helper()
	reg := registry.New(nil)
	h := hub.New(reg, hub.Options{})
	t.Cleanup(h.Close)
	srv, err := server.New(server.Settings{
		Listen: []string{"127.0.0.1:0"},
		Vhosts: map[string]server.VhostSettings{media.DefaultVhost: {Enabled: true, GopCache: true}},
	}, h, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "rtmp://" + srv.Addrs()[0].String() + "/live"
}

func dial(t *testing.T, url string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAPublisherAndAPlayerExchangeMessages(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pub := dial(t, url)
	if err := pub.Publish(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	player := dial(t, url)
	if err := player.Play(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	// A frame that spans many chunks and one with an extended timestamp.
	msgs := []struct {
		ts      uint32
		payload []byte
	}{
		{0, append([]byte{0x17, 1, 0, 0, 0}, bytes.Repeat([]byte{7}, 20000)...)},
		{0x1000000, []byte{0x27, 1, 0, 0, 0, 9}},
	}
	for _, m := range msgs {
		if err := pub.WriteMessage(chunk.TypeVideo, m.ts, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range msgs {
		var got client.Message
		for got.Type != chunk.TypeVideo {
			var err error
			if got, err = player.ReadMessage(); err != nil {
				t.Fatal(err)
			}
		}
		if got.Timestamp != want.ts || !bytes.Equal(got.Payload, want.payload) {
			t.Fatalf("got ts %d, %d bytes", got.Timestamp, len(got.Payload))
		}
	}
	if n := player.BytesReceived(); n < 20000 {
		t.Fatalf("%d bytes received", n)
	}
}

func TestPublishingABusyStreamIsAStatusError(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dial(t, url).Publish(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	err := dial(t, url).Publish(ctx, "s")
	var se *client.StatusError
	if !errors.As(err, &se) || se.Code != "NetStream.Publish.BadName" {
		t.Fatalf("got %v", err)
	}
}

func TestDialFailsOnBadURLsAndHonoursTheContext(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	tests := []struct {
		name string
		url  string
	}{
		{"another scheme", "http://127.0.0.1/live"},
		{"an unparsable URL", "rtmp://[::1/live"},
		{"a server that never answers", "rtmp://" + silent.Addr().String() + "/live"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			started := time.Now()
			if _, err := client.Dial(ctx, tt.url); err == nil {
				t.Fatal("Dial succeeded")
			}
			if d := time.Since(started); d > 2*time.Second {
				t.Fatalf("Dial took %v", d)
			}
		})
	}
}
