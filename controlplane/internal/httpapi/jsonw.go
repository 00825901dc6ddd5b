package httpapi

import (
	"math"
	"strconv"
	"sync"
)

// jsonw appends compact JSON the way SRS prints it (srs-http-api.md §2.3):
// keys in the order written, floats with exactly two decimals, and SRS's
// short list of string escapes. It is written by hand, without reflection,
// because the lists are the API's hot path.
//
// Keys are written as given: they are constants in this package.
type jsonw struct {
	b []byte
	// more is set once a value was written at the current level: the next
	// key or array element needs a comma.
	more bool
}

// A response buffer grows to the largest body it served; past this it is
// dropped rather than pooled, so one huge page does not pin memory.
const maxPooledJSON = 1 << 20

var jsonPool = sync.Pool{New: func() any { return &jsonw{b: make([]byte, 0, 4096)} }}

func getJSON() *jsonw { return jsonPool.Get().(*jsonw) }

func putJSON(j *jsonw) {
	if cap(j.b) > maxPooledJSON {
		return
	}
	j.b, j.more = j.b[:0], false
	jsonPool.Put(j)
}

func (j *jsonw) comma() {
	if j.more {
		j.b = append(j.b, ',')
	}
	j.more = true
}

func (j *jsonw) key(k string) {
	j.comma()
	j.b = append(j.b, '"')
	j.b = append(j.b, k...)
	j.b = append(j.b, '"', ':')
	j.more = false
}

// open starts an object: the document itself or an array element.
func (j *jsonw) open() {
	j.comma()
	j.b = append(j.b, '{')
	j.more = false
}

// obj starts an object under key k; end closes it.
func (j *jsonw) obj(k string) {
	j.key(k)
	j.open()
}

func (j *jsonw) end() {
	j.b = append(j.b, '}')
	j.more = true
}

// arr starts an array under key k; endArr closes it.
func (j *jsonw) arr(k string) {
	j.key(k)
	j.b = append(j.b, '[')
	j.more = false
}

func (j *jsonw) endArr() {
	j.b = append(j.b, ']')
	j.more = true
}

func (j *jsonw) str(k, v string) {
	j.key(k)
	j.strValue(v)
}

// strValue writes a string as a value or an array element.
func (j *jsonw) strValue(v string) {
	j.comma()
	j.b = appendString(j.b, v)
}

func (j *jsonw) int(k string, v int64) {
	j.key(k)
	j.comma()
	j.b = strconv.AppendInt(j.b, v, 10)
}

func (j *jsonw) uint(k string, v uint64) {
	j.key(k)
	j.comma()
	j.b = strconv.AppendUint(j.b, v, 10)
}

// float writes SRS's "%.2f". JSON has no NaN or infinities; they read 0.00.
func (j *jsonw) float(k string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	j.key(k)
	j.comma()
	j.b = strconv.AppendFloat(j.b, v, 'f', 2, 64)
}

func (j *jsonw) bool(k string, v bool) {
	j.key(k)
	j.comma()
	j.b = strconv.AppendBool(j.b, v)
}

func (j *jsonw) null(k string) {
	j.key(k)
	j.comma()
	j.b = append(j.b, "null"...)
}

// appendString quotes s with SRS's escapes: `"`, `\` and \b \f \n \r \t.
// SRS leaves every other byte raw, which for the remaining control
// characters yields JSON no parser accepts; those (from client-supplied
// URLs, say) are escaped as \u00XX instead. Non-ASCII is left as is.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
