package grpcserver

import (
	"slices"
	"testing"
	"time"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/controlplane/internal/fleet"
)

// A worker's HTTP-FLV addresses, from its first hello and from a later
// one (after a pushed http_server.listen), and its flv-play clients reach
// the fleet view.
func TestAWorkersHTTPAddressesAndFLVPlayersReachTheView(t *testing.T) {
	h := newHarness(t, Config{Token: "t"})
	s, _ := h.open(t, "t")
	hello := func(http ...string) *fleetv1.WorkerMessage {
		return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{
			NodeId: "w1", BootId: "b1", RtmpAddresses: []string{"10.0.0.1:1935"}, HttpAddresses: http,
		}}}
	}
	_ = s.Send(hello("10.0.0.1:8080"))
	_ = s.Send(&fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Snapshot{Snapshot: &fleetv1.Snapshot{Seq: 1,
		Clients: []*fleetv1.Client{{Id: "p48k4vd8", Vhost: "__defaultVhost__", App: "live", Stream: "livestream.flv", Type: "flv-play"}},
	}}})
	waitView(t, h.reg, "the worker's HTTP address and its flv-play client", func(v *fleet.View) bool {
		w, ok := v.Worker("w1")
		c, cok := v.Client("p48k4vd8")
		return ok && slices.Equal(w.HTTPAddrs, []string{"10.0.0.1:8080"}) && cok && c.Type == "flv-play" && !c.Publish
	})
	_ = s.Send(hello("10.0.0.1:8081", "[2001:db8::1]:8081"))
	waitView(t, h.reg, "the HTTP addresses of the later hello", func(v *fleet.View) bool {
		w, ok := v.Worker("w1")
		return ok && slices.Equal(w.HTTPAddrs, []string{"10.0.0.1:8081", "[2001:db8::1]:8081"}) &&
			slices.Equal(w.RTMPAddrs, []string{"10.0.0.1:1935"})
	})
}

// waitView polls the registry's view until ok accepts it, for 5 s at most.
func waitView(t *testing.T, reg *fleet.Registry, what string, ok func(*fleet.View) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !ok(reg.View()) {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
