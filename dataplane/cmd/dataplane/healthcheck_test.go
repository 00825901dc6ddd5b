package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/dataplane/internal/statussock"
)

// A worker's status socket is named after its node id and shared by
// everything in the network namespace: each test takes a node id of its own.
func uniqueNodeID() string { return "t-" + rand.Text() }

// noEnv keeps the tests from the DATAPLANE_* variables of the machine.
func noEnv(string) string { return "" }

// fleetStub is a control plane that hands the test each worker session, to
// push configs on.
type fleetStub struct {
	fleetv1.UnimplementedFleetServer
	addr     string
	sessions chan fleetv1.Fleet_SessionServer
}

func startFleetStub(t *testing.T) *fleetStub {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fleetStub{addr: lis.Addr().String(), sessions: make(chan fleetv1.Fleet_SessionServer, 8)}
	srv := grpc.NewServer()
	fleetv1.RegisterFleetServer(srv, f)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	return f
}

func (f *fleetStub) Session(s fleetv1.Fleet_SessionServer) error {
	select {
	case f.sessions <- s:
	default:
	}
	for {
		if _, err := s.Recv(); err != nil {
			return nil
		}
	}
}

// startWorker runs the dataplane command until the test ends.
func startWorker(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, args, noEnv, t.Output(), t.Output()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// probe runs `dataplane healthcheck -node-id node` and returns its output.
func probe(node string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"healthcheck", "-node-id", node, "-timeout", "2s"}, noEnv, &out, &errOut)
	return out.String() + errOut.String(), err
}

// eventually polls cond every 10 ms until it holds, for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("%s: not within 5 s", what)
		case <-tick.C:
		}
	}
}

func rtmpAddrs(node string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, _ := statussock.Query(ctx, node)
	return addrs
}

func TestHealthcheckFollowsTheRTMPListenTheControlPlanePushes(t *testing.T) {
	cp := startFleetStub(t)
	node := uniqueNodeID()
	startWorker(t, "-node-id", node, "-control-plane", cp.addr, "-rtmp-listen", "127.0.0.1:0")
	var out string
	var err error
	eventually(t, "the worker healthy", func() bool { out, err = probe(node); return err == nil })
	if out != "healthy\n" {
		t.Fatalf("healthcheck printed %q", out)
	}
	old := rtmpAddrs(node)
	if len(old) != 1 || !strings.HasPrefix(old[0], "127.0.0.1:") {
		t.Fatalf("the worker reports %q, want its one listener on 127.0.0.1", old)
	}

	var session fleetv1.Fleet_SessionServer
	select {
	case session = <-cp.sessions:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker opened no session within 5 s")
	}
	push := &fleetv1.Config{Version: 1, RtmpListen: []string{"127.0.0.2:0"}}
	if err := session.Send(&fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Config{Config: push}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the worker reporting its new listener", func() bool {
		a := rtmpAddrs(node)
		return len(a) == 1 && strings.HasPrefix(a[0], "127.0.0.2:")
	})
	// The old port is closed: a healthy probe dialled the new one.
	if nc, err := net.DialTimeout("tcp", old[0], time.Second); err == nil {
		nc.Close()
		t.Fatal("the old listener still accepts")
	}
	if out, err := probe(node); err != nil || out != "healthy\n" {
		t.Fatalf("healthcheck after the listen moved: %q, %v", out, err)
	}
}

func TestHealthcheckFailsWithoutAWorker(t *testing.T) {
	node := uniqueNodeID()
	out, err := probe(node)
	if err == nil || err.Error() != "no data plane worker "+node+" running here" || strings.Contains(out, "healthy") {
		t.Fatalf("healthcheck with no worker: %q, %v", out, err)
	}
}

func TestHealthcheckFailsWhenRTMPDoesNotAccept(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	for _, tc := range []struct {
		name  string
		addrs []net.Addr
		want  string
	}{
		{"no listener", nil, "the worker has no RTMP listener"},
		{"a closed port", []net.Addr{closed.Addr()}, "rtmp: dial tcp " + closed.Addr().String() + ": connect: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A worker's status socket alone, reporting tc.addrs.
			node := uniqueNodeID()
			s, err := statussock.Listen(node, func() []net.Addr { return tc.addrs })
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- s.Run(ctx) }()
			defer func() { cancel(); <-ran }()
			if out, err := probe(node); err == nil || err.Error() != tc.want || strings.Contains(out, "healthy") {
				t.Fatalf("healthcheck: %q, %v; want the error %q", out, err, tc.want)
			}
		})
	}
}
