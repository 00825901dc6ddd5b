package main

import (
	"errors"
	"io"

	"tidecast.dev/dataplane/internal/flv"
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
		return flv.ParseVideo(t.body).SequenceHeader
	case chunk.TypeAudio:
		return flv.ParseAudio(t.body).SequenceHeader
	}
	return true
}

// readFLV reads the audio, video and script tags of an FLV file.
func readFLV(r io.Reader) ([]tag, error) {
	fr := flv.NewReader(r, 0)
	var tags []tag
	for {
		t, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return tags, nil
		}
		if err != nil {
			return nil, err
		}
		switch t.Type {
		case flv.TagAudio, flv.TagVideo, flv.TagScript:
			tags = append(tags, tag{typ: t.Type, ts: t.Timestamp, body: t.Body})
		}
	}
}
