package server

import (
	"testing"
	"tidecast.dev/dataplane/internal/mediatest"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

// rawPublish publishes name by hand, for what the Go client does not send.
func rawPublish(t *testing.T, srv *testServer, name string) *rawConn {
	t.Helper()
	c := rawDial(t, srv)
	c.connect("rtmp://" + srv.addr + "/live")
	c.send(chunk.TypeCommandAMF0, 0, "createStream", 2.0, nil)
	c.await("_result")
	c.send(chunk.TypeCommandAMF0, 1, "publish", 0.0, nil, name, "live")
	if info := c.await("onStatus")[3].(amf0.Object); info.String("code") != "NetStream.Publish.Start" {
		t.Fatalf("publish: %v", info)
	}
	return c
}

func TestOnlySessionsEndedByAnErrorCountAsFailedClients(t *testing.T) {
	srv := startServer(t, Settings{Limits: Limits{IdleTimeout: 300 * time.Millisecond}})
	cases := []struct {
		name   string
		failed bool
		// session registers one client and makes its session end.
		session func(t *testing.T)
	}{
		{"a publisher that closes the connection", false, func(t *testing.T) {
			goPublish(t, srv, "a").Close()
		}},
		{"a player that closes the connection", false, func(t *testing.T) {
			goPlay(t, srv, "b").Close()
		}},
		{"a publisher that sends deleteStream and stays", false, func(t *testing.T) {
			rawPublish(t, srv, "c").send(chunk.TypeCommandAMF0, 1, "deleteStream", 0.0, nil, 1.0)
		}},
		{"a player kicked", false, func(t *testing.T) {
			goPlay(t, srv, "d")
			if err := srv.reg.Kick(mediatest.ClientsOf(srv.reg, media.RTMPPlay)[0].ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"a publisher that sends garbage", true, func(t *testing.T) {
			c := rawPublish(t, srv, "e")
			c.nc.Write([]byte{0xc0 | 10, 1, 2, 3}) // a chunk stream opening with a type-3 header
		}},
		{"a publisher that goes silent", true, func(t *testing.T) {
			rawPublish(t, srv, "f")
		}},
	}
	var joined, failed uint64
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.session(t)
			joined++
			if tc.failed {
				failed++
			}
			mediatest.Eventually(t, 5*time.Second, "the client gone", func() bool { return len(srv.reg.Snapshot().Clients) == 0 })
			if s := srv.reg.Sample(); s.ClientsJoined != joined || s.ClientsFailed != failed {
				t.Fatalf("clients joined/failed = %d/%d, want %d/%d", s.ClientsJoined, s.ClientsFailed, joined, failed)
			}
		})
	}
}
