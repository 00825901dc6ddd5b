// Package amf0 encodes and decodes Action Message Format 0, the encoding of
// RTMP commands and data messages.
//
// Values map to Go as: number → float64, boolean → bool, string and long
// string → string, null → nil, undefined → Undefined, object → Object,
// ECMA array → ECMAArray, strict array → []any, date → Date. Objects keep
// their property order, because peers (and the replies SRS sends) list
// properties in a meaningful order.
//
// The decoder is written for hostile input: it bounds nesting depth, never
// allocates more than the input can justify and returns an error instead of
// panicking.
package amf0

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// AMF0 type markers.
const (
	markerNumber      = 0x00
	markerBoolean     = 0x01
	markerString      = 0x02
	markerObject      = 0x03
	markerNull        = 0x05
	markerUndefined   = 0x06
	markerReference   = 0x07
	markerECMAArray   = 0x08
	markerObjectEnd   = 0x09
	markerStrictArray = 0x0a
	markerDate        = 0x0b
	markerLongString  = 0x0c
	markerXMLDocument = 0x0f
	markerTypedObject = 0x10
	// markerAVMPlus switches the next value to AMF3; Flash Player sends it
	// in AMF3-encoded commands.
	markerAVMPlus = 0x11
)

// MaxDepth bounds the nesting of objects and arrays the decoder accepts.
const MaxDepth = 32

// Undefined is AMF0's undefined value.
type Undefined struct{}

// Date is AMF0's date: milliseconds since the epoch and a time zone the
// specification says to ignore.
type Date struct {
	Millis   float64
	TimeZone int16
}

// Property is one key/value pair of an Object or an ECMAArray.
type Property struct {
	Key   string
	Value any
}

// Object is an anonymous AMF0 object; its properties keep their order.
type Object []Property

// ECMAArray is an associative array (onMetaData usually is one). It has the
// shape of an Object; convert with Object(a) to use the accessors.
type ECMAArray []Property

// Get returns the value of the first property named key.
func (o Object) Get(key string) (any, bool) {
	for _, p := range o {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// String returns the property key if it is a string, else "".
func (o Object) String(key string) string {
	v, _ := o.Get(key)
	s, _ := v.(string)
	return s
}

// Number returns the property key if it is a number.
func (o Object) Number(key string) (float64, bool) {
	v, _ := o.Get(key)
	f, ok := v.(float64)
	return f, ok
}

// Errors the decoder returns; they are wrapped with the offset.
var (
	ErrShort       = errors.New("amf0: truncated value")
	ErrTooDeep     = errors.New("amf0: nesting too deep")
	ErrUnsupported = errors.New("amf0: unsupported type")
)

// Decode decodes every value in b.
func Decode(b []byte) ([]any, error) {
	var vals []any
	for off := 0; off < len(b); {
		v, n, err := DecodeValue(b[off:])
		if err != nil {
			return vals, fmt.Errorf("value at offset %d: %w", off, err)
		}
		vals = append(vals, v)
		off += n
	}
	return vals, nil
}

// DecodeValue decodes the value at the start of b and returns it with the
// number of bytes it took.
func DecodeValue(b []byte) (any, int, error) {
	d := decoder{b: b}
	v, err := d.value(0)
	return v, d.off, err
}

type decoder struct {
	b   []byte
	off int
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || len(d.b)-d.off < n {
		return nil, ErrShort
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u8() (byte, error) {
	p, err := d.take(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (d *decoder) u16() (int, error) {
	p, err := d.take(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(p)), nil
}

func (d *decoder) u32() (uint32, error) {
	p, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(p), nil
}

func (d *decoder) number() (float64, error) {
	p, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
}

func (d *decoder) shortString() (string, error) {
	n, err := d.u16()
	if err != nil {
		return "", err
	}
	p, err := d.take(n)
	return string(p), err
}

func (d *decoder) longString() (string, error) {
	n, err := d.u32()
	if err != nil {
		return "", err
	}
	if uint64(n) > uint64(len(d.b)-d.off) {
		return "", ErrShort
	}
	p, err := d.take(int(n))
	return string(p), err
}

func (d *decoder) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	m, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch m {
	case markerNumber:
		return d.number()
	case markerBoolean:
		b, err := d.u8()
		return b != 0, err
	case markerString:
		return d.shortString()
	case markerLongString, markerXMLDocument:
		return d.longString()
	case markerNull:
		return nil, nil
	case markerUndefined:
		return Undefined{}, nil
	case markerObject:
		props, err := d.properties(depth)
		return Object(props), err
	case markerTypedObject:
		if _, err := d.shortString(); err != nil { // class name
			return nil, err
		}
		props, err := d.properties(depth)
		return Object(props), err
	case markerECMAArray:
		// The count is a hint that peers get wrong; the object end marker
		// is what terminates the array.
		if _, err := d.u32(); err != nil {
			return nil, err
		}
		props, err := d.properties(depth)
		return ECMAArray(props), err
	case markerStrictArray:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		// Every element takes at least one byte: never allocate for more
		// elements than the input holds.
		if uint64(n) > uint64(len(d.b)-d.off) {
			return nil, ErrShort
		}
		arr := make([]any, 0, n)
		for range n {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	case markerDate:
		ms, err := d.number()
		if err != nil {
			return nil, err
		}
		tz, err := d.u16()
		return Date{Millis: ms, TimeZone: int16(tz)}, err
	case markerAVMPlus:
		return d.amf3Value()
	default:
		return nil, fmt.Errorf("%w: marker 0x%02x", ErrUnsupported, m)
	}
}

// properties reads key/value pairs up to the object end marker (an empty
// key followed by 0x09).
func (d *decoder) properties(depth int) ([]Property, error) {
	var props []Property
	for {
		key, err := d.shortString()
		if err != nil {
			return nil, err
		}
		if key == "" {
			if len(d.b) > d.off && d.b[d.off] == markerObjectEnd {
				d.off++
				return props, nil
			}
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		props = append(props, Property{Key: key, Value: v})
	}
}

// AMF3 markers of the scalar types a command may carry after the AVM+ switch.
const (
	amf3Undefined = 0x00
	amf3Null      = 0x01
	amf3False     = 0x02
	amf3True      = 0x03
	amf3Integer   = 0x04
	amf3Double    = 0x05
	amf3String    = 0x06
)

// amf3Value decodes the scalar AMF3 values found in commands. Complex AMF3
// values (objects with traits and references) are not needed by RTMP
// servers and are refused.
func (d *decoder) amf3Value() (any, error) {
	m, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch m {
	case amf3Undefined:
		return Undefined{}, nil
	case amf3Null:
		return nil, nil
	case amf3False:
		return false, nil
	case amf3True:
		return true, nil
	case amf3Integer:
		u, err := d.u29()
		if err != nil {
			return nil, err
		}
		// Sign-extend the 29-bit integer.
		return float64(int32(u<<3) >> 3), nil
	case amf3Double:
		return d.number()
	case amf3String:
		u, err := d.u29()
		if err != nil {
			return nil, err
		}
		if u&1 == 0 {
			return nil, fmt.Errorf("%w: amf3 string reference", ErrUnsupported)
		}
		p, err := d.take(int(u >> 1))
		return string(p), err
	default:
		return nil, fmt.Errorf("%w: amf3 marker 0x%02x", ErrUnsupported, m)
	}
}

// u29 reads AMF3's variable-length 29-bit unsigned integer.
func (d *decoder) u29() (uint32, error) {
	var v uint32
	for i := range 4 {
		b, err := d.u8()
		if err != nil {
			return 0, err
		}
		if i == 3 {
			return v<<8 | uint32(b), nil
		}
		v = v<<7 | uint32(b&0x7f)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return v, nil
}

// Append appends the encoding of each value to dst. It accepts the types
// Decode returns plus the Go integer types (encoded as numbers).
func Append(dst []byte, vals ...any) ([]byte, error) {
	var err error
	for _, v := range vals {
		if dst, err = appendValue(dst, v, 0); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, ErrTooDeep
	}
	switch v := v.(type) {
	case float64:
		return appendNumber(dst, v), nil
	case int:
		return appendNumber(dst, float64(v)), nil
	case int64:
		return appendNumber(dst, float64(v)), nil
	case int32:
		return appendNumber(dst, float64(v)), nil
	case uint32:
		return appendNumber(dst, float64(v)), nil
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		return append(dst, markerBoolean, b), nil
	case string:
		if len(v) > math.MaxUint16 {
			dst = append(dst, markerLongString)
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
			return append(dst, v...), nil
		}
		return appendString(append(dst, markerString), v), nil
	case nil:
		return append(dst, markerNull), nil
	case Undefined:
		return append(dst, markerUndefined), nil
	case Object:
		return appendProperties(append(dst, markerObject), v, depth)
	case ECMAArray:
		dst = append(dst, markerECMAArray)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		return appendProperties(dst, v, depth)
	case []any:
		dst = append(dst, markerStrictArray)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		var err error
		for _, e := range v {
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case Date:
		dst = append(dst, markerDate)
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v.Millis))
		return binary.BigEndian.AppendUint16(dst, uint16(v.TimeZone)), nil
	default:
		return dst, fmt.Errorf("%w: Go type %T", ErrUnsupported, v)
	}
}

func appendNumber(dst []byte, f float64) []byte {
	dst = append(dst, markerNumber)
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

// appendString appends a UTF-8 string with a 16-bit length; longer keys
// are truncated, as no peer sends keys that long.
func appendString(dst []byte, s string) []byte {
	if len(s) > math.MaxUint16 {
		s = s[:math.MaxUint16]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendProperties(dst []byte, props []Property, depth int) ([]byte, error) {
	var err error
	for _, p := range props {
		dst = appendString(dst, p.Key)
		if dst, err = appendValue(dst, p.Value, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, 0, 0, markerObjectEnd), nil
}
