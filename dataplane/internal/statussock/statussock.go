// Package statussock tells the container health probe (dataplane
// healthcheck) where the worker listens for RTMP right now: the control
// plane may have moved the listener since the worker started, so the flags
// the probe is started with cannot say.
//
// The worker listens on a Linux abstract unix socket named after its node
// id. Such a socket needs no file system (the images have none writable)
// and is private to the network namespace, so to the container. On each
// connection the worker writes one line, "rtmp ADDR...\n", with the
// addresses its RTMP listeners are bound to, and closes it. Nothing else
// goes over it.
package statussock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// ErrUnsupported is returned where there are no abstract unix sockets.
var ErrUnsupported = errors.New("status socket: abstract unix sockets need Linux")

const (
	// writeTimeout bounds an answer, so a stuck peer cannot hold the server.
	writeTimeout = time.Second
	// maxAnswer bounds what Query reads.
	maxAnswer = 4096
	// retryAccept is the pause after a failed accept (out of descriptors
	// and the like): the probe fails meanwhile, and passes again after.
	retryAccept = 100 * time.Millisecond
)

// Server answers the probe for one worker.
type Server struct {
	ln    net.Listener
	addrs func() []net.Addr
}

// Listen binds the socket of the worker nodeID; addrs gives the bound RTMP
// addresses at the time of each answer. Run serves it.
func Listen(nodeID string, addrs func() []net.Addr) (*Server, error) {
	name, err := socketName(nodeID)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", name)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("status socket: a data plane worker %s already runs here", nodeID)
	}
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	return &Server{ln: ln, addrs: addrs}, nil
}

// Run answers until ctx ends, then closes the socket. It returns nil.
func (s *Server) Run(ctx context.Context) error {
	defer context.AfterFunc(ctx, func() { s.ln.Close() })()
	defer s.ln.Close()
	for {
		c, err := s.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			t := time.NewTimer(retryAccept)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		s.answer(c)
	}
}

func (s *Server) answer(c net.Conn) {
	defer c.Close()
	var b strings.Builder
	b.WriteString("rtmp")
	for _, a := range s.addrs() {
		b.WriteString(" " + a.String())
	}
	b.WriteString("\n")
	_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, _ = io.WriteString(c, b.String()) // a failed answer fails that probe only
}

// Query asks the worker nodeID running here for its RTMP addresses, as
// bound ("[::]:1935", "127.0.0.1:40001").
func Query(ctx context.Context, nodeID string) ([]string, error) {
	name, err := socketName(nodeID)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", name)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("no data plane worker %s running here", nodeID)
	}
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	defer c.Close()
	defer context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })()
	b, err := io.ReadAll(io.LimitReader(c, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("status socket: reading: %w", err)
	}
	line, ok := strings.CutSuffix(string(b), "\n")
	f := strings.Fields(line)
	if !ok || len(f) == 0 || f[0] != "rtmp" {
		return nil, fmt.Errorf("status socket: unexpected answer %q", b)
	}
	return f[1:], nil
}
