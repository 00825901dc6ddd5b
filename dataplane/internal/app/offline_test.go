package app

import (
	"context"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/client"
)

// With no control plane reachable, a worker still serves media: the
// worker never waits on the control plane.
func TestAWorkerServesMediaWithNoControlPlane(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := dead.Addr().String()
	dead.Close()

	a, err := New(Config{NodeID: uniqueNodeID(), ControlPlanes: []string{unreachable}, RTMPListen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	defer func() { cancel(); <-ran }()

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	url := "rtmp://" + a.RTMPAddrs()[0].String() + "/live"
	pub, err := client.Dial(dctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(dctx, "offline"); err != nil {
		t.Fatal(err)
	}
	play, err := client.Dial(dctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer play.Close()
	if err := play.Play(dctx, "offline"); err != nil {
		t.Fatal(err)
	}
	// An AVC sequence header (x264, 640x360 High 3.0), then a second of
	// keyframes, so even merged writes (350 ms) flush.
	sps, _ := hex.DecodeString("6764001eacd940a02ff970110000030001000003003c0f162d96")
	sh := append([]byte{0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xff, 0xe1, 0, byte(len(sps))}, sps...)
	sh = append(sh, 1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb)
	if err := pub.WriteMessage(chunk.TypeVideo, 0, sh); err != nil {
		t.Fatal(err)
	}
	for ts := uint32(0); ts <= 1000; ts += 40 {
		if err := pub.WriteMessage(chunk.TypeVideo, ts, []byte{0x17, 0x01, 0, 0, 0, 0, 0, 0, 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Bound the wait: closing the player fails a blocked read.
	stop := time.AfterFunc(5*time.Second, func() { play.Close() })
	defer stop.Stop()
	for {
		m, err := play.ReadMessage()
		if err != nil {
			t.Fatalf("player got no video without a control plane: %v", err)
		}
		if m.Type == chunk.TypeVideo {
			break
		}
	}
	if n := a.Registry().Clients(); n != 2 {
		t.Fatalf("registry holds %d clients, want 2", n)
	}
	if got := a.ControlPlanesConnected(); len(got) != 0 {
		t.Fatalf("connected to %v, want none", got)
	}
}
