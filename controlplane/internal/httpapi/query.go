package httpapi

import (
	"math"
	"net/url"
	"strings"
)

// query is a raw query string, read the way SRS clients write it: pairs
// are separated by '&', ';' or ',' (so "?start=1,count=20" works as in
// SRS), keys and values are URL-decoded as Go does, and the last of
// duplicate keys wins, as in SRS. SRS's other quirk, '=' separating pairs
// too, is not kept: it only makes "a key without = swallows the next key".
//
// It is read in place, key by key, so a request costs no map.
type query string

// get returns the value of key, "" when absent.
func (q query) get(key string) string {
	var value string
	for rest := string(q); rest != ""; {
		var pair string
		if i := strings.IndexAny(rest, "&;,"); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			pair, rest = rest, ""
		}
		if pair == "" { // "a=1&&b=2": an empty pair names nothing
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if unescape(k) == key {
			value = v
		}
	}
	return unescape(value)
}

// unescape decodes s as a query component; a malformed one is kept as
// sent rather than refused.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// defaultCount is the page size when count is absent or below 1.
const defaultCount = 10

// page reads the start and count of a list page. start defaults to 0 and
// a negative one reads 0; count defaults to 10, and any count of at least
// 1 is honoured: SRS before 7.0.128 raised counts below 10 to 10, which
// upstream dropped (ossrs/srs#4358), so neither do we.
func (q query) page() (start, count int) {
	start = max(0, atoi(q.get("start")))
	if count = atoi(q.get("count")); count < 1 {
		count = defaultCount
	}
	return start, count
}

// atoi reads an integer like C's atoi, as SRS does: leading blanks, a sign
// and the digits that follow; anything else ends it, and no digits read 0.
// Unlike atoi it saturates instead of overflowing.
func atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		d := int(s[i] - '0')
		if n > (math.MaxInt-d)/10 {
			n = math.MaxInt
			break
		}
		n = n*10 + d
	}
	if neg {
		return -n
	}
	return n
}
