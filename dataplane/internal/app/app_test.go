package app

import (
	"context"
	"crypto/rand"
	"net"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/dataplane/internal/statussock"
)

// A worker's status socket is named after its node id and shared by
// everything in the network namespace: each test takes a node id of its own.
func uniqueNodeID() string { return "t-" + rand.Text() }

// controlPlaneStub accepts sessions and hands their first messages to the
// test.
type controlPlaneStub struct {
	fleetv1.UnimplementedFleetServer
	got chan *fleetv1.WorkerMessage
}

func (c *controlPlaneStub) Session(s fleetv1.Fleet_SessionServer) error {
	for {
		m, err := s.Recv()
		if err != nil {
			return nil
		}
		select {
		case c.got <- m:
		default:
		}
	}
}

func TestAWorkerStartsReportsAndStopsWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stub := &controlPlaneStub{got: make(chan *fleetv1.WorkerMessage, 64)}
	srv := grpc.NewServer()
	fleetv1.RegisterFleetServer(srv, stub)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	defer func() { srv.Stop(); <-served }()

	node := uniqueNodeID()
	a, err := New(Config{NodeID: node, ControlPlanes: []string{lis.Addr().String()}, RTMPListen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()

	select {
	case m := <-stub.got:
		if m.GetHello().GetNodeId() != node || m.GetHello().GetBootId() == "" {
			t.Fatalf("first message = %v, want a hello from %s with a boot id", m, node)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no hello within 5 s")
	}
	qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer qcancel()
	if got, err := statussock.Query(qctx, node); err != nil || !slices.Equal(got, []string{a.RTMPAddrs()[0].String()}) {
		t.Fatalf("status socket: %q, %v; RTMP listens on %v", got, err, a.RTMPAddrs())
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancellation")
	}
	if _, err := statussock.Query(qctx, node); err == nil {
		t.Fatal("the status socket still answers after Run returned")
	}
}
