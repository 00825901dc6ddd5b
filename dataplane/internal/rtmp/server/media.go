package server

import (
	"bytes"
	"sync"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/flv"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

// ingest turns a publisher's audio, video or data message into a hub
// packet and queues it. The message is not retained (see
// chunkForm.ingest).
func (c *conn) ingest(m *chunk.Message) {
	payload, typ := m.Payload, m.Type
	switch typ {
	case chunk.TypeDataAMF3:
		// An AMF3 data message is AMF0 after a format byte.
		if len(payload) == 0 {
			return
		}
		payload, typ = payload[1:], chunk.TypeDataAMF0
		fallthrough
	case chunk.TypeDataAMF0:
		if payload = unwrapDataFrame(payload); payload == nil {
			return
		}
	}
	p, changed := c.demux.Packet(typ, m.Timestamp, payload)
	if changed {
		c.publisher.SetCodecs(c.demux.Codecs())
	}
	if p != nil {
		c.publisher.Queue(p)
	}
}

// unwrapDataFrame strips the @setDataFrame wrapper encoders put around
// onMetaData (an RTMP command to the server, not data for players). It
// returns nil for a message that does not decode.
func unwrapDataFrame(payload []byte) []byte {
	name, n, err := amf0.DecodeValue(payload)
	if err != nil {
		return nil
	}
	if name == "@setDataFrame" {
		return payload[n:]
	}
	return payload
}

// ingest encodes a published packet in the publisher's chunk form, which
// most players use, and points its payload into those bytes (its
// hub.PublishOptions.Ingest): the payload then lives once, in the
// encoding, and stops aliasing the chunk reader's buffer.
func (f chunkForm) ingest(p *hub.Packet) {
	enc := f.AppendPacket(nil, p)
	p.SetEncoded(f, enc)
	if n, ok := flv.BodyLen(p); ok && n <= f.size {
		p.Payload = enc[len(enc)-len(p.Payload):] // one chunk: the body ends it
	} else {
		p.Payload = bytes.Clone(p.Payload)
	}
}

// chunkForm is the RTMP form of packets: one message on MessageStreamID,
// chunked at size, which the player was told.
type chunkForm struct{ size int }

// bodies are scratch for the FLV tag bodies chunkForm cuts into chunks.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// AppendPacket implements hub.Form.
func (f chunkForm) AppendPacket(dst []byte, p *hub.Packet) []byte {
	if _, ok := flv.BodyLen(p); !ok {
		return dst
	}
	scratch := bodies.Get().(*[]byte)
	body := flv.AppendBody((*scratch)[:0], p)
	csid := uint32(chunk.CSIDStream)
	switch p.Track {
	case hub.TrackVideo:
		csid = chunk.CSIDVideo
	case hub.TrackAudio:
		csid = chunk.CSIDAudio
	}
	dst = chunk.AppendMessage(dst, f.size, &chunk.Message{
		CSID: csid, Type: flv.TagType(p), StreamID: MessageStreamID, Timestamp: flv.Timestamp(p), Payload: body,
	})
	*scratch = body[:0]
	bodies.Put(scratch)
	return dst
}

// framer frames a player's batches: each packet's shared chunks, and the
// UnpublishNotify when the publisher leaves.
type framer struct {
	form   chunkForm
	notice []byte
}

func (f *framer) Frame(iov [][]byte, pkts []*hub.Packet) ([][]byte, bool) {
	for _, p := range pkts {
		if p.Kind == hub.KindUnpublished {
			iov = append(iov, f.notice)
		} else {
			iov = append(iov, p.Encoded(f.form))
		}
	}
	return iov, false
}
