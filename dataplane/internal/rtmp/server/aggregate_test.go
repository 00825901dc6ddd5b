package server

import (
	"bytes"
	"context"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
)

// appendTag appends an aggregate's sub-message: an FLV tag and its size.
func appendTag(dst []byte, typ uint8, ts uint32, data []byte) []byte {
	n := len(data)
	dst = append(dst, typ, byte(n>>16), byte(n>>8), byte(n), byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
	dst = append(dst, data...)
	size := 11 + n
	return append(dst, byte(size>>24), byte(size>>16), byte(size>>8), byte(size))
}

func TestAggregatedMessagesArePlayedOneByOne(t *testing.T) {
	srv := startServer(t, Settings{Vhosts: map[string]VhostSettings{media.DefaultVhost: {Enabled: true}}})
	player := goPlay(t, srv, "agg")
	pub := dial(t, srv.url("live"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, "agg"); err != nil {
		t.Fatal(err)
	}

	// The tags' timestamps are far from the aggregates' (and need the
	// high byte): only their offsets within an aggregate count.
	const base = 0x01000000
	meta, err := amf0.Append(nil, "onMetaData", amf0.ECMAArray{{Key: "width", Value: 640.0}})
	if err != nil {
		t.Fatal(err)
	}
	setDataFrame, _ := amf0.Append(nil, "@setDataFrame")
	headers := appendTag(nil, chunk.TypeDataAMF0, base, append(setDataFrame, meta...))
	headers = appendTag(headers, chunk.TypeVideo, base, avcSH)
	headers = appendTag(headers, chunk.TypeAudio, base, aacSH)
	if err := pub.WriteMessage(chunk.TypeAggregate, 1000, headers); err != nil {
		t.Fatal(err)
	}
	const frames = 10
	for i := range frames {
		agg := appendTag(nil, chunk.TypeVideo, base+uint32(i*7), frame(i, 3000+i, i == 0))
		agg = appendTag(agg, chunk.TypeAudio, base+uint32(i*7)+20, []byte{0xaf, 1, byte(i)})
		if i == frames-1 {
			agg = append(agg, chunk.TypeVideo, 0, 0) // a truncated tag
		}
		if err := pub.WriteMessage(chunk.TypeAggregate, uint32(1040+i*40), agg); err != nil {
			t.Fatal(err)
		}
	}
	// The malformed tag did not cost the connection.
	if err := pub.WriteMessage(chunk.TypeVideo, 2000, frame(frames, 100, false)); err != nil {
		t.Fatal(err)
	}

	expect := func(typ uint8, ts uint32, payload []byte) {
		t.Helper()
		if m := readMedia(t, player, typ); m.Timestamp != ts || !bytes.Equal(m.Payload, payload) {
			t.Fatalf("type %d at %d, %d bytes; want %d, %d bytes", typ, m.Timestamp, len(m.Payload), ts, len(payload))
		}
	}
	readMedia(t, player, chunk.TypeDataAMF0) // |RtmpSampleAccess
	readMedia(t, player, chunk.TypeDataAMF0) // NetStream.Data.Start
	expect(chunk.TypeDataAMF0, 1000, meta)
	expect(chunk.TypeVideo, 1000, avcSH)
	expect(chunk.TypeAudio, 1000, aacSH)
	for i := range frames {
		ts := uint32(1040 + i*40)
		expect(chunk.TypeVideo, ts, frame(i, 3000+i, i == 0))
		expect(chunk.TypeAudio, ts+20, []byte{0xaf, 1, byte(i)})
	}
	expect(chunk.TypeVideo, 2000, frame(frames, 100, false))
}
