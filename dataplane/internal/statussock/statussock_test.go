package statussock

import (
	"context"
	"crypto/rand"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Abstract socket names are shared by everything in the network namespace,
// tests of other packages included: each test takes a node id of its own.
func uniqueNodeID() string { return "t-" + rand.Text() }

// The tests' RTMP addresses are only values the worker reports: nothing
// listens on them.

func query(t *testing.T, nodeID string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return Query(ctx, nodeID)
}

func TestAnswersTheAddressesOfTheMomentUntilStopped(t *testing.T) {
	defer goleak.VerifyNone(t)
	var mu sync.Mutex
	addrs := []net.Addr{&net.TCPAddr{IP: net.IPv6unspecified, Port: 40001}}
	node := uniqueNodeID()
	s, err := Listen(node, func() []net.Addr { mu.Lock(); defer mu.Unlock(); return addrs })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	if got, err := query(t, node); err != nil || !slices.Equal(got, []string{"[::]:40001"}) {
		t.Fatalf("Query = %q, %v", got, err)
	}
	mu.Lock()
	addrs = []net.Addr{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 40001}, &net.TCPAddr{IP: net.IPv4zero, Port: 40002}}
	mu.Unlock()
	if got, err := query(t, node); err != nil || !slices.Equal(got, []string{"127.0.0.2:40001", "0.0.0.0:40002"}) {
		t.Fatalf("Query after the change = %q, %v", got, err)
	}
	mu.Lock()
	addrs = nil
	mu.Unlock()
	if got, err := query(t, node); err != nil || len(got) != 0 {
		t.Fatalf("Query with no listener = %q, %v", got, err)
	}

	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := query(t, node); err == nil || err.Error() != "no data plane worker "+node+" running here" {
		t.Fatalf("Query after Run returned: %v", err)
	}
}

func TestASecondWorkerWithTheSameNodeIDIsRefused(t *testing.T) {
	node := uniqueNodeID()
	s, err := Listen(node, func() []net.Addr { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	if _, err := Listen(node, func() []net.Addr { return nil }); err == nil || !strings.Contains(err.Error(), "a data plane worker "+node+" already runs here") {
		t.Fatalf("second Listen: %v", err)
	}
}

func TestANodeIDTooLongForASocketNameStillWorks(t *testing.T) {
	node := uniqueNodeID() + strings.Repeat("x", 200)
	s, err := Listen(node, func() []net.Addr { return []net.Addr{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40001}} })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if got, err := query(t, node); err != nil || !slices.Equal(got, []string{"127.0.0.1:40001"}) {
		t.Fatalf("Query = %q, %v", got, err)
	}
}

func TestQueryGivesUpWithItsContext(t *testing.T) {
	// A listener that never answers: the connection waits in its backlog.
	node := uniqueNodeID()
	s, err := Listen(node, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Query(ctx, node); err == nil || !strings.Contains(err.Error(), "i/o timeout") {
		t.Fatalf("Query of a silent worker: %v", err)
	}
}
