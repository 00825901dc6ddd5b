package listeners

import (
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// acceptAll is a serve function that closes what it accepts and counts it.
func acceptAll(n *atomic.Int64) func(net.Listener) {
	return func(l net.Listener) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}
}

func dials(addr net.Addr) bool {
	c, err := net.Dial("tcp", addr.String())
	if err == nil {
		c.Close()
	}
	return err == nil
}

func TestAMoveOpensTheNewAddressesBeforeClosingTheOldOnes(t *testing.T) {
	var accepted atomic.Int64
	s, err := Open([]string{"127.0.0.1:0"}, acceptAll(&accepted), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	first := s.Addrs()[0]
	if !dials(first) {
		t.Fatal("the first listener does not accept")
	}
	committed := false
	if err := s.Move([]string{"127.0.0.2:0"}, func() { committed = true }); err != nil {
		t.Fatal(err)
	}
	addrs := s.Addrs()
	if !committed || len(addrs) != 1 || addrs[0].String() == first.String() {
		t.Fatalf("after the move: %v (committed %v)", addrs, committed)
	}
	if !dials(addrs[0]) || dials(first) {
		t.Fatal("the new listener does not accept, or the old one still does")
	}
}

func TestAMoveThatCannotListenChangesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var accepted atomic.Int64
	s, err := Open([]string{"127.0.0.1:0"}, acceptAll(&accepted), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := s.Addrs()
	err = s.Move([]string{"127.0.0.1:0", busy.Addr().String()}, func() { t.Error("committed a failed move") })
	if err == nil {
		t.Fatal("moved onto a busy port")
	}
	if after := s.Addrs(); len(after) != 1 || after[0].String() != before[0].String() {
		t.Fatalf("addresses changed: %v → %v", before, after)
	}
	if _, err := Open([]string{"not an address"}, acceptAll(&accepted), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("opened a bad address")
	}
}

func TestCloseStopsTheServeFunctionsAndLaterMoves(t *testing.T) {
	var accepted atomic.Int64
	s, err := Open([]string{"127.0.0.1:0", "127.0.0.2:0"}, acceptAll(&accepted), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Start: %v", err)
	}
	s.Close() // returns once both serve functions have
	s.Close()
	if err := s.Move([]string{"127.0.0.1:0"}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Move after Close: %v", err)
	}
	if len(s.Addrs()) != 0 {
		t.Fatal("addresses after Close")
	}
}
