package chunk

import (
	"bytes"
	"errors"
	"testing"
)

// appendTag appends an aggregate's sub-message: an FLV tag and its size.
func appendTag(dst []byte, typ uint8, ts uint32, data []byte) []byte {
	n := len(data)
	dst = append(dst, typ, byte(n>>16), byte(n>>8), byte(n), byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
	dst = append(dst, data...)
	size := uint32(tagHeaderLen + n)
	return append(dst, byte(size>>24), byte(size>>16), byte(size>>8), byte(size))
}

// split returns the sub-messages SplitAggregate delivers, copied.
func split(m *Message) ([]Message, error) {
	var out []Message
	err := SplitAggregate(m, func(sub *Message) {
		c := *sub
		c.Payload = bytes.Clone(sub.Payload)
		out = append(out, c)
	})
	return out, err
}

func TestSplitAggregateRebasesTimestampsAndSkipsOtherTypes(t *testing.T) {
	v, a, d := payload(300), payload(20), []byte{2, 0, 1, 'x'}
	var p []byte
	p = appendTag(p, TypeVideo, 1000, v)
	p = appendTag(p, TypeCommandAMF0, 1010, payload(5)) // not a media tag
	p = appendTag(p, TypeAudio, 1023, a)
	p = appendTag(p, TypeDataAMF0, 1040, d)
	p = appendTag(p, TypeVideo, 0x01000000, nil) // the high byte counts
	got, err := split(&Message{CSID: 4, Type: TypeAggregate, StreamID: 1, Timestamp: 50, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{
		{CSID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 50, Payload: v},
		{CSID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 73, Payload: a},
		{CSID: 4, Type: TypeDataAMF0, StreamID: 1, Timestamp: 90, Payload: d},
		{CSID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 0x01000000 - 950, Payload: []byte{}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.CSID != w.CSID || g.Type != w.Type || g.StreamID != w.StreamID || g.Timestamp != w.Timestamp || !bytes.Equal(g.Payload, w.Payload) {
			t.Fatalf("message %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestSplitAggregateRebasesAcrossTheWrapAround(t *testing.T) {
	var p []byte
	p = appendTag(p, TypeAudio, 5000, []byte{1})
	p = appendTag(p, TypeAudio, 5020, []byte{2})
	got, err := split(&Message{Type: TypeAggregate, Timestamp: 0xfffffff0, Payload: p})
	if err != nil || len(got) != 2 || got[0].Timestamp != 0xfffffff0 || got[1].Timestamp != 4 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestSplitAggregateHandsOutCappedSubSlicesOfThePayload(t *testing.T) {
	var p []byte
	p = appendTag(p, TypeVideo, 0, []byte{1, 2, 3})
	p = appendTag(p, TypeVideo, 0, []byte{4, 5, 6})
	starts := []int{tagHeaderLen, 2*tagHeaderLen + 3 + prevTagSizeLen}
	i := 0
	err := SplitAggregate(&Message{Type: TypeAggregate, Payload: p}, func(sub *Message) {
		if &sub.Payload[0] != &p[starts[i]] || cap(sub.Payload) != 3 {
			t.Errorf("message %d is not p[%d:%d:%[3]d]", i, starts[i], starts[i]+3)
		}
		i++
	})
	if err != nil || i != 2 {
		t.Fatalf("%d messages, %v", i, err)
	}
}

func TestSplitAggregateStopsAtTheFirstMalformedTag(t *testing.T) {
	good := appendTag(nil, TypeVideo, 7, []byte{9, 9})
	next := appendTag(nil, TypeAudio, 8, payload(10))
	tests := []struct {
		name string
		tail []byte
	}{
		{"a truncated tag header", next[:tagHeaderLen-1]},
		{"a size past the end", next[:tagHeaderLen+5]},
		{"no previous tag size", next[:len(next)-prevTagSizeLen]},
		{"a truncated previous tag size", next[:len(next)-1]},
		{"a size of 16 MiB", append([]byte{TypeAudio, 0xff, 0xff, 0xff}, next[4:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := split(&Message{Type: TypeAggregate, Timestamp: 100, Payload: cat(good, tt.tail)})
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("got %v", err)
			}
			if len(got) != 1 || got[0].Timestamp != 100 || !bytes.Equal(got[0].Payload, []byte{9, 9}) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestSplitAggregateOfNothingDeliversNothing(t *testing.T) {
	if got, err := split(&Message{Type: TypeAggregate}); err != nil || len(got) != 0 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func FuzzAggregate(f *testing.F) {
	valid := cat(
		appendTag(nil, TypeVideo, 1000, payload(300)),
		appendTag(nil, TypeCommandAMF0, 1010, payload(5)),
		appendTag(nil, TypeAudio, 0x01000010, payload(20)),
	)
	f.Add(uint32(40), valid)
	f.Add(uint32(0xfffffff0), valid[:len(valid)-1])
	f.Add(uint32(0), valid[:tagHeaderLen+100])
	f.Add(uint32(0), []byte{TypeAudio, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ts uint32, b []byte) {
		m := &Message{Type: TypeAggregate, Timestamp: ts, Payload: b}
		got, err := split(m)
		if err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("error %v does not wrap ErrProtocol", err)
		}
		// What was delivered survives a round trip through an aggregate.
		var again []byte
		for _, sub := range got {
			if sub.Type != TypeAudio && sub.Type != TypeVideo && sub.Type != TypeDataAMF0 {
				t.Fatalf("delivered a message of type %d", sub.Type)
			}
			again = appendTag(again, sub.Type, sub.Timestamp, sub.Payload)
		}
		if len(got) == 0 {
			return
		}
		round, err := split(&Message{Type: TypeAggregate, Timestamp: got[0].Timestamp, Payload: again})
		if err != nil || len(round) != len(got) {
			t.Fatalf("the round trip gave %d messages of %d, %v", len(round), len(got), err)
		}
		for i := range got {
			if round[i].Type != got[i].Type || round[i].Timestamp != got[i].Timestamp || !bytes.Equal(round[i].Payload, got[i].Payload) {
				t.Fatalf("message %d: %+v after the round trip, %+v before", i, round[i], got[i])
			}
		}
	})
}
