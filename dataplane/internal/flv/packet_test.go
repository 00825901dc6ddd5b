package flv

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/media"
)

// want is what a test expects of a packet.
type want struct {
	Track            hub.Track
	Codec            hub.Codec
	DTS, PTS         time.Duration
	Keyframe, Config bool
}

func TestTagBodiesMapToCodecLevelPacketsAndBack(t *testing.T) {
	meta, _ := amf0.Append(nil, "onMetaData", amf0.ECMAArray{{Key: "width", Value: 640.0}})
	cue, _ := amf0.Append(nil, "onCuePoint", 1.0)
	tests := []struct {
		name    string
		typ     uint8
		body    []byte
		want    want
		payload []byte
	}{
		{"an AVC sequence header", TagVideo, append([]byte{0x17, 0, 0, 0, 0}, avcRecord...),
			want{Track: hub.TrackVideo, Codec: hub.CodecH264, Config: true}, avcRecord},
		{"an AVC keyframe with a composition time", TagVideo, []byte{0x17, 1, 0, 0, 40, 0, 0, 0, 1, 0x65},
			want{Track: hub.TrackVideo, Codec: hub.CodecH264, Keyframe: true, PTS: 40 * time.Millisecond}, []byte{0, 0, 0, 1, 0x65}},
		{"an AVC inter frame with a negative composition time", TagVideo, []byte{0x27, 1, 0xff, 0xff, 0xf6, 0, 0, 0, 1, 0x41},
			want{Track: hub.TrackVideo, Codec: hub.CodecH264, PTS: -10 * time.Millisecond}, []byte{0, 0, 0, 1, 0x41}},
		{"an AAC sequence header", TagAudio, []byte{0xaf, 0, 0x12, 0x10},
			want{Track: hub.TrackAudio, Codec: hub.CodecAAC, Config: true}, []byte{0x12, 0x10}},
		{"a raw AAC frame", TagAudio, []byte{0xaf, 1, 0x21, 0x10},
			want{Track: hub.TrackAudio, Codec: hub.CodecAAC}, []byte{0x21, 0x10}},
		{"an MP3 frame travels as its tag body", TagAudio, []byte{0x2f, 0xff, 0xfb},
			want{Track: hub.TrackAudio, Codec: hub.CodecFLV}, []byte{0x2f, 0xff, 0xfb}},
		{"an enhanced HEVC keyframe travels as its tag body", TagVideo, []byte{0x91, 'h', 'v', 'c', '1', 0, 0, 0, 1, 2},
			want{Track: hub.TrackVideo, Codec: hub.CodecFLV, Keyframe: true}, []byte{0x91, 'h', 'v', 'c', '1', 0, 0, 0, 1, 2}},
		{"metadata", TagScript, meta, want{Track: hub.TrackData, Codec: hub.CodecScript, Config: true}, meta},
		{"other script data", TagScript, cue, want{Track: hub.TrackData, Codec: hub.CodecScript}, cue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Demuxer
			p, _ := d.Packet(tt.typ, 1000, tt.body)
			if p == nil {
				t.Fatal("no packet")
			}
			want := tt.want
			want.DTS, want.PTS = time.Second, time.Second+want.PTS
			if p.Track != want.Track || p.Codec != want.Codec || p.Config != want.Config || p.Keyframe != want.Keyframe ||
				p.DTS != want.DTS || p.PTS != want.PTS || !bytes.Equal(p.Payload, tt.payload) {
				t.Fatalf("got %+v\nwant %+v with payload %x", p, want, tt.payload)
			}
			if TagType(p) != tt.typ || Timestamp(p) != 1000 {
				t.Fatalf("tag type %d at %d", TagType(p), Timestamp(p))
			}
			if got := AppendBody(nil, p); !bytes.Equal(got, tt.body) {
				t.Fatalf("body back %x, want %x", got, tt.body)
			}
		})
	}
}

func TestTagsThatCarryNothingMakeNoPacket(t *testing.T) {
	for name, tag := range map[string]struct {
		typ  uint8
		body []byte
	}{
		"an empty video body":     {TagVideo, nil},
		"an AVC end of sequence":  {TagVideo, []byte{0x17, 2, 0, 0, 0}},
		"an AVC command frame":    {TagVideo, []byte{0x57, 1, 0, 0, 0, 0}},
		"a truncated AVC header":  {TagVideo, []byte{0x17, 1}},
		"an AAC header alone":     {TagAudio, []byte{0xaf, 1}},
		"script data not in AMF0": {TagScript, []byte{0xff}},
		"an unknown tag type":     {7, []byte{1, 2, 3}},
	} {
		var d Demuxer
		if p, _ := d.Packet(tag.typ, 0, tag.body); p != nil {
			t.Errorf("%s: got %+v", name, p)
		}
	}
}

func TestTimestampsKeepGoingAcrossTheWrapAndStepBack(t *testing.T) {
	var d Demuxer
	var got []time.Duration
	for _, ts := range []uint32{0xfffffff0, 0xfffffffa, 6, 2, 100} {
		p, _ := d.Packet(TagAudio, ts, []byte{0xaf, 1, 0x21})
		got = append(got, p.DTS)
	}
	base := time.Duration(0xfffffff0) * time.Millisecond
	want := []time.Duration{base, base + 10*time.Millisecond, base + 22*time.Millisecond, base + 18*time.Millisecond, base + 116*time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("timestamps %v, want %v", got, want)
		}
	}
}

func TestTheDemuxerFollowsTheTrackDescriptions(t *testing.T) {
	var d Demuxer
	if _, changed := d.Packet(TagVideo, 0, append([]byte{0x17, 0, 0, 0, 0}, avcRecord...)); !changed {
		t.Fatal("a sequence header changed nothing")
	}
	if _, changed := d.Packet(TagVideo, 0, []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}); changed {
		t.Fatal("a frame changed the description")
	}
	if _, changed := d.Packet(TagAudio, 0, []byte{0xaf, 0, 0x12, 0x10}); !changed {
		t.Fatal("an AAC sequence header changed nothing")
	}
	v, a := d.Codecs()
	if *v != (media.VideoInfo{Codec: "H264", Profile: "High", Level: "3", Width: 640, Height: 360}) ||
		*a != (media.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"}) {
		t.Fatalf("codecs %+v %+v", *v, *a)
	}
}

func TestTheFLVFormIsATagAReaderReadsBack(t *testing.T) {
	var d Demuxer
	body := []byte{0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x9a}
	p, _ := d.Packet(TagVideo, 0x01020304, body)
	stream := append(bytes.Clone(Header), Form{}.AppendPacket(nil, p)...)
	r := NewReader(bytes.NewReader(stream), 0)
	tag, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if tag.Type != TagVideo || tag.Timestamp != 0x01020304 || !bytes.Equal(tag.Body, body) {
		t.Fatalf("read back %+v", tag)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last tag: %v", err)
	}
	if got := (Form{}).AppendPacket(nil, &hub.Packet{Track: hub.TrackAudio, Codec: hub.CodecOpus, Payload: []byte{1}}); len(got) != 0 {
		t.Fatalf("an Opus packet encoded as %x", got)
	}
}

func TestTheReaderRefusesWhatIsNotFLVOrTooLarge(t *testing.T) {
	if _, err := NewReader(bytes.NewReader([]byte("not an flv file")), 0).Next(); !errors.Is(err, ErrNotFLV) {
		t.Fatalf("got %v", err)
	}
	big := AppendTagHeader(bytes.Clone(Header), TagVideo, 0, 1000)
	if _, err := NewReader(bytes.NewReader(big), 999).Next(); err == nil {
		t.Fatal("a tag over the limit was read")
	}
	if _, err := NewReader(bytes.NewReader(big), 0).Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a truncated body: %v", err)
	}
}

// FuzzReader reads hostile FLV streams and maps every tag to a packet and
// back: nothing panics, and the H.264 and AAC bodies a packet was made of
// come back byte for byte.
func FuzzReader(f *testing.F) {
	var d Demuxer
	seed := bytes.Clone(Header)
	for _, b := range [][]byte{{0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65}, {0xaf, 1, 0x21}} {
		p, _ := d.Packet(TagVideo, 33, b)
		seed = append(seed, Form{}.AppendPacket(nil, p)...)
	}
	f.Add(seed)
	f.Add([]byte("FLV\x01\x05\x00\x00\x00\x09"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b), 1<<16)
		var d Demuxer
		for range 1000 {
			tag, err := r.Next()
			if err != nil {
				return
			}
			p, _ := d.Packet(tag.Type, tag.Timestamp, tag.Body)
			if p == nil {
				continue
			}
			back := AppendBody(nil, p)
			if p.Codec == hub.CodecFLV || p.Codec == hub.CodecScript {
				if !bytes.Equal(back, tag.Body) {
					t.Fatalf("body %x came back as %x", tag.Body, back)
				}
			}
			if n, ok := BodyLen(p); !ok || n != len(back) {
				t.Fatalf("BodyLen %d, %v for a body of %d", n, ok, len(back))
			}
		}
	})
}
