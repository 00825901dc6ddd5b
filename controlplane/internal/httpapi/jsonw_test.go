package httpapi

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendStringEscapesLikeSRS(t *testing.T) {
	for in, want := range map[string]string{
		"":                `""`,
		"plain":           `"plain"`,
		`say "hi"`:        `"say \"hi\""`,
		`C:\dir`:          `"C:\\dir"`,
		"\b\f\n\r\t":      `"\b\f\n\r\t"`,
		"\x00\x01\x1f":    `"\u0000\u0001\u001f"`,
		"/a/b?c=d&e<f>":   `"/a/b?c=d&e<f>"`,
		"café \u2028":     "\"café \u2028\"",
		"raw \xff bytes":  "\"raw \xff bytes\"",
		"end\\":           `"end\\"`,
		"\"":              `"\""`,
		"mixed\x7f\"\x02": "\"mixed\x7f\\\"\\u0002\"",
	} {
		assert.Equal(t, want, string(appendString(nil, in)), "%q", in)
	}
}

func TestFloatsHaveTwoDecimals(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0.00", 15.425: "15.43", 776.68: "776.68", -1.5: "-1.50", 1e20: "100000000000000000000.00",
		math.NaN(): "0.00", math.Inf(1): "0.00", math.Inf(-1): "0.00",
	} {
		var j jsonw
		j.float("f", in)
		assert.Equal(t, `"f":`+want, string(j.b), "%v", in)
	}
}

func TestNestingPutsCommasWhereJSONNeedsThem(t *testing.T) {
	var j jsonw
	j.open()
	j.int("a", -1)
	j.arr("b")
	j.open()
	j.null("c")
	j.end()
	j.open()
	j.end()
	j.strValue("s")
	j.endArr()
	j.obj("d")
	j.uint("e", math.MaxUint64)
	j.bool("f", true)
	j.end()
	j.arr("g")
	j.endArr()
	j.end()
	assert.Equal(t, `{"a":-1,"b":[{"c":null},{},"s"],"d":{"e":18446744073709551615,"f":true},"g":[]}`, string(j.b))
	assert.True(t, json.Valid(j.b))
}

// FuzzAppendString checks that every valid UTF-8 string encodes to JSON
// that decodes back to it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "\b\f\n\r\t", "é\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendString(nil, s)
		if !utf8.ValidString(s) {
			return // kept raw, as SRS does
		}
		var back string
		require.NoError(t, json.Unmarshal(out, &back), "%q", out)
		assert.Equal(t, s, back)
	})
}
