//go:build !linux

package egress

import "net"

// nbConn has no non-blocking path here: every player batch goes through
// the player's waiting writer, and a publisher's messages are flushed one
// by one.
type nbConn struct{}

func newNBConn(net.Conn) *nbConn { return nil }

func (*nbConn) writeNow([][]byte) (int, error) { return 0, nil }

func (*nbConn) readNow([]byte) (int, bool) { return 0, false }
