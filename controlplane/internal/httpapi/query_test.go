package httpapi

import (
	"math"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestQueryGet(t *testing.T) {
	for _, tc := range []struct{ raw, key, want string }{
		{"", "a", ""},
		{"a=1", "a", "1"},
		{"a=1&b=2", "b", "2"},
		{"a=1,b=2;c=3", "c", "3"},
		{"a=1&&b=2", "b", "2"},
		{"a=1&a=2", "a", "2"},
		{"a", "a", ""},
		{"a=x=y", "a", "x=y"},
		{"a=%41%2C", "a", "A,"},
		{"a=b+c", "a", "b c"},
		{"a=%zz", "a", "%zz"},
		{"%61=1", "a", "1"},
		{"ab=1", "a", ""},
	} {
		assert.Equal(t, tc.want, query(tc.raw).get(tc.key), "%q[%q]", tc.raw, tc.key)
	}
}

func TestAtoiReadsLikeC(t *testing.T) {
	for in, want := range map[string]int{
		"": 0, "0": 0, "42": 42, "-7": -7, "+7": 7, " 12": 12, "12ab": 12, "ab12": 0, "-": 0, "--1": 0,
		"99999999999999999999999": math.MaxInt, "-99999999999999999999999": -math.MaxInt,
	} {
		assert.Equal(t, want, atoi(in), "%q", in)
	}
}

// FuzzQuery checks query parsing against Go's where their rules agree
// (no ',' or ';'), the round trip of an encoded pair, and that any query
// yields a usable page.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"start=1,count=20", "count=-1&start=x", "a=%zz;b", "callback=angular.callbacks._0&method=DELETE", "start=99999999999999999999"} {
		f.Add(s, "count", "v")
	}
	f.Fuzz(func(t *testing.T, raw, key, value string) {
		q := query(raw)
		start, count := q.page()
		assert.GreaterOrEqual(t, start, 0)
		assert.GreaterOrEqual(t, count, 1)

		if !strings.ContainsAny(raw, ",;") {
			if parsed, err := url.ParseQuery(raw); err == nil {
				for k, vs := range parsed {
					assert.Equal(t, vs[len(vs)-1], q.get(k), "raw %q key %q", raw, k)
				}
			}
		}

		if key != "" {
			encoded := query("other=1&" + url.Values{key: {value}}.Encode())
			assert.Equal(t, value, encoded.get(key))
		}
	})
}
