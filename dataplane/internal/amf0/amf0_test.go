package amf0

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestValuesSurviveARoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   any
	}{
		{"a number", 3.5},
		{"a negative number", -1.0},
		{"true", true},
		{"false", false},
		{"a short string", "connect"},
		{"an empty string", ""},
		{"a long string", strings.Repeat("x", 70000)},
		{"null", nil},
		{"undefined", Undefined{}},
		{"an object keeping its order", Object{{"b", 1.0}, {"a", "x"}, {"n", nil}}},
		{"an ECMA array", ECMAArray{{"duration", 0.0}, {"width", 640.0}}},
		{"a strict array", []any{1.0, "two", Object{{"three", 3.0}}}},
		{"a date", Date{Millis: 1.7e12, TimeZone: -60}},
		{"an empty object", Object(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Append(nil, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, n, err := DecodeValue(b)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(b) {
				t.Fatalf("consumed %d of %d bytes", n, len(b))
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Fatalf("got %#v, want %#v", got, tt.in)
			}
		})
	}
}

func TestIntegersEncodeAsNumbers(t *testing.T) {
	for _, in := range []any{int(7), int32(7), int64(7), uint32(7)} {
		b, err := Append(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := DecodeValue(b)
		if err != nil || v != 7.0 {
			t.Fatalf("%T: got %v, %v", in, v, err)
		}
	}
}

func TestDecodeReadsAConnectCommandAsFFmpegSendsIt(t *testing.T) {
	b, err := Append(nil, "connect", 1.0, Object{
		{"app", "live"}, {"type", "nonprivate"}, {"flashVer", "FMLE/3.0 (compatible; Lavf59.27.100)"},
		{"tcUrl", "rtmp://127.0.0.1:1935/live"},
	})
	if err != nil {
		t.Fatal(err)
	}
	vals, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 3 || vals[0] != "connect" || vals[1] != 1.0 {
		t.Fatalf("got %#v", vals)
	}
	obj := vals[2].(Object)
	if obj.String("tcUrl") != "rtmp://127.0.0.1:1935/live" || obj.String("missing") != "" {
		t.Fatalf("got %#v", obj)
	}
	if _, ok := obj.Number("app"); ok {
		t.Fatal("a string property read as a number")
	}
}

func TestDecodeAcceptsAMF3ScalarsAfterTheSwitchMarker(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want any
	}{
		{"a string", []byte{0x11, 0x06, 0x0f, 'c', 'o', 'n', 'n', 'e', 'c', 't'}, "connect"},
		{"an integer", []byte{0x11, 0x04, 0x81, 0x00}, 128.0},
		{"a negative integer", []byte{0x11, 0x04, 0xff, 0xff, 0xff, 0xff}, -1.0},
		{"a double", []byte{0x11, 0x05, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, 1.0},
		{"null", []byte{0x11, 0x01}, nil},
		{"true", []byte{0x11, 0x03}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n, err := DecodeValue(tt.in)
			if err != nil || n != len(tt.in) || !reflect.DeepEqual(v, tt.want) {
				t.Fatalf("got %#v, %d, %v", v, n, err)
			}
		})
	}
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	deep := bytes.Repeat([]byte{markerStrictArray, 0, 0, 0, 1}, MaxDepth+2)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"a truncated number", []byte{0x00, 1, 2}, ErrShort},
		{"a string longer than the input", []byte{0x02, 0x00, 0x10, 'a'}, ErrShort},
		{"a long string claiming 4 GiB", []byte{0x0c, 0xff, 0xff, 0xff, 0xff}, ErrShort},
		{"a strict array claiming 4 G elements", []byte{0x0a, 0xff, 0xff, 0xff, 0xff}, ErrShort},
		{"an object without its end marker", []byte{0x03, 0x00, 0x01, 'a', 0x05}, ErrShort},
		{"nesting beyond the limit", deep, ErrTooDeep},
		{"a reference", []byte{0x07, 0x00, 0x01}, ErrUnsupported},
		{"an AMF3 string reference", []byte{0x11, 0x06, 0x02}, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestAppendRejectsUnknownGoTypes(t *testing.T) {
	if _, err := Append(nil, struct{}{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v", err)
	}
}

func FuzzAMF0Decode(f *testing.F) {
	seed, _ := Append(nil, "onMetaData", ECMAArray{{"width", 640.0}, {"encoder", "Lavf"}}, []any{math.Inf(1), Date{}}, Undefined{})
	f.Add(seed)
	f.Add([]byte{0x11, 0x06, 0x0f, 'c', 'o', 'n', 'n', 'e', 'c', 't'})
	f.Add([]byte{0x10, 0x00, 0x01, 'C', 0x00, 0x00, 0x09})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode again and decode to the same values.
		enc, err := Append(nil, vals...)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", vals, err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoding: %v", err)
		}
		if len(again) != len(vals) {
			t.Fatalf("%d values became %d", len(vals), len(again))
		}
	})
}
