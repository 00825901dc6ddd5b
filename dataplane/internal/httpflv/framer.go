package httpflv

import (
	"strconv"

	"tidecast.dev/dataplane/internal/flv"
	"tidecast.dev/dataplane/internal/hub"
)

// framer frames a player's batches as HTTP chunks: one chunk per batch,
// the response head and the FLV header before the first, the last chunk
// when the publisher leaves.
type framer struct {
	// head is the response head, until it went out.
	head []byte
	// line is the scratch of the current chunk's size line: a batch is
	// framed only once the previous one was written.
	line []byte
}

var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n")
)

func (f *framer) Frame(iov [][]byte, pkts []*hub.Packet) ([][]byte, bool) {
	if f.head != nil {
		iov = append(iov, f.head)
		f.head = nil
		pkts = append([]*hub.Packet{nil}, pkts...) // nil: the FLV header
	}
	at := len(iov)
	iov = append(iov, nil) // the size line, known at the end
	size, end := 0, false
	for _, p := range pkts {
		var b []byte
		switch {
		case p == nil:
			b = flv.Header
		case p.Kind == hub.KindUnpublished:
			end = true
		default:
			b = p.Encoded(flv.Form{})
		}
		if end {
			break
		}
		iov = append(iov, b)
		size += len(b)
	}
	if size == 0 {
		iov = iov[:at] // an empty chunk would end the response
	} else {
		f.line = strconv.AppendInt(f.line[:0], int64(size), 16)
		f.line = append(f.line, crlf...)
		iov[at] = f.line
		iov = append(iov, crlf)
	}
	if end {
		iov = append(iov, lastChunk)
	}
	return iov, end
}
