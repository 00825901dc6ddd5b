package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"tidecast.dev/dataplane/internal/codec"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

// tag is one FLV tag: an RTMP message's type, timestamp and body.
type tag struct {
	typ  uint8
	ts   uint32
	body []byte
}

// header tells whether t only sets the stream up (metadata, sequence
// headers): a looping publisher sends those once.
func (t tag) header() bool {
	switch t.typ {
	case chunk.TypeVideo:
		return codec.ParseVideo(t.body).SequenceHeader
	case chunk.TypeAudio:
		return codec.ParseAudio(t.body).SequenceHeader
	}
	return true
}

// readFLV reads the audio, video and script tags of an FLV file.
func readFLV(r io.Reader) ([]tag, error) {
	br := bufio.NewReader(r)
	var h [9]byte
	if _, err := io.ReadFull(br, h[:]); err != nil || string(h[:3]) != "FLV" {
		return nil, errors.New("not an FLV file")
	}
	// The header's size, then PreviousTagSize0.
	if _, err := br.Discard(int(binary.BigEndian.Uint32(h[5:])) - len(h) + 4); err != nil {
		return nil, err
	}
	var tags []tag
	var th [11]byte
	for {
		if _, err := io.ReadFull(br, th[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return tags, nil
			}
			return nil, fmt.Errorf("FLV tag header: %w", err)
		}
		size := int(th[1])<<16 | int(th[2])<<8 | int(th[3])
		ts := uint32(th[7])<<24 | uint32(th[4])<<16 | uint32(th[5])<<8 | uint32(th[6])
		body := make([]byte, size)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, fmt.Errorf("FLV tag body: %w", err)
		}
		if _, err := br.Discard(4); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		switch typ := th[0] & 0x1f; typ {
		case chunk.TypeAudio, chunk.TypeVideo, chunk.TypeDataAMF0:
			tags = append(tags, tag{typ: typ, ts: ts, body: body})
		}
	}
}
