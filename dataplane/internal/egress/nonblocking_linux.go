package egress

import (
	"net"
	"syscall"
	"unsafe"
)

// maxIovecs is IOV_MAX: the most buffers one writev takes.
const maxIovecs = 1024

// nbConn reads and writes a socket without waiting: read and writev on
// the raw descriptor (which the runtime keeps non-blocking), taking what
// is there or what the socket buffer has room for. Its state lives here so
// that a call allocates nothing: the write side is guarded by the
// connection's wmu, the read side belongs to its serve goroutine.
type nbConn struct {
	raw syscall.RawConn

	vec     []syscall.Iovec
	wrote   uintptr
	werrno  syscall.Errno
	writeFn func(fd uintptr) bool

	buf    []byte
	read   uintptr
	rerrno syscall.Errno
	readFn func(fd uintptr) bool
}

// newNBConn returns nil for a connection without a descriptor.
func newNBConn(nc net.Conn) *nbConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	c := &nbConn{raw: raw}
	// Both return true: never wait for the socket.
	c.writeFn = func(fd uintptr) bool {
		for {
			c.wrote, _, c.werrno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&c.vec[0])), uintptr(len(c.vec)))
			if c.werrno != syscall.EINTR {
				return true
			}
		}
	}
	c.readFn = func(fd uintptr) bool {
		for {
			c.read, _, c.rerrno = syscall.Syscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.buf[0])), uintptr(len(c.buf)))
			if c.rerrno != syscall.EINTR {
				return true
			}
		}
	}
	return c
}

// writeNow writes bufs as far as the socket takes them at once; fewer
// bytes than bufs hold means the socket is full (always so without a
// descriptor).
func (c *nbConn) writeNow(bufs [][]byte) (n int, err error) {
	if c == nil {
		return 0, nil
	}
	for len(bufs) > 0 {
		k := min(len(bufs), maxIovecs)
		want := 0
		c.vec = c.vec[:0]
		for _, b := range bufs[:k] {
			if len(b) > 0 {
				v := syscall.Iovec{Base: &b[0]}
				v.SetLen(len(b))
				c.vec = append(c.vec, v)
				want += len(b)
			}
		}
		bufs = bufs[k:]
		if want == 0 {
			continue
		}
		err := c.raw.Write(c.writeFn)
		clear(c.vec) // keep no packet alive
		switch {
		case err != nil:
			return n, err
		case c.werrno == syscall.EAGAIN:
			return n, nil
		case c.werrno != 0:
			return n, c.werrno
		}
		if n += int(c.wrote); int(c.wrote) < want {
			return n, nil
		}
	}
	return n, nil
}

// readNow reads what the socket holds into p; ok is false when that is
// nothing (or anything but data: the next blocking read will tell).
func (c *nbConn) readNow(p []byte) (n int, ok bool) {
	if c == nil || len(p) == 0 {
		return 0, false
	}
	c.buf = p
	err := c.raw.Read(c.readFn)
	c.buf = nil
	if err != nil || c.rerrno != 0 || c.read == 0 {
		return 0, false
	}
	return int(c.read), true
}
