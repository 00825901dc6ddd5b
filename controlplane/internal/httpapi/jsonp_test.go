package httpapi

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var callbackRule = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,128}$`)

// FuzzCallback checks callback validation against its rule, and what the
// API answers for the callback: JSONP for a valid one, JSON for none, 400
// for anything else.
func FuzzCallback(f *testing.F) {
	for _, s := range []string{"", "cb", "jQuery_1.2-x", "angular.callbacks._0", "a(b)", "x;alert(1)", "é", strings.Repeat("a", 129)} {
		f.Add(s)
	}
	h := New(testOptions(newRegistry())).Handler()
	f.Fuzz(func(t *testing.T, cb string) {
		valid := validCallback(cb)
		require.Equal(t, callbackRule.MatchString(cb), valid, "%q", cb)

		w := serve(h, "GET", "/api/v1/versions?callback="+url.QueryEscape(cb))
		switch {
		case cb == "":
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		case valid:
			assert.Equal(t, "text/javascript", w.Header().Get("Content-Type"))
			assert.True(t, strings.HasPrefix(w.Body.String(), cb+"({"))
			assert.True(t, strings.HasSuffix(w.Body.String(), "})"))
		default:
			assert.Equal(t, http.StatusBadRequest, w.Code)
		}
	})
}
