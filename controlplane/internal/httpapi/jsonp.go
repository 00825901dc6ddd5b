package httpapi

import "net/http"

// maxCallback bounds a JSONP callback name. SRS has no bound; 128 leaves
// room for any generated name (jQuery's are about 40 characters) while a
// request cannot make us echo kilobytes of script.
const maxCallback = 128

// validCallback reports whether s may be echoed as a JSONP callback: SRS's
// characters [A-Za-z0-9_.-], which cover jQuery's generated names and
// AngularJS's dotted ones ("angular.callbacks._0"), and at most
// maxCallback of them. The empty name is valid and means "not JSONP".
func validCallback(s string) bool {
	if len(s) > maxCallback {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// effectiveMethod is the verb a handler acts on (§2.6): a JSONP request
// (one with a callback) may name GET, PUT, POST or DELETE in the method
// query parameter, since a script tag can only GET. Without a callback the
// parameter is ignored, so a plain link cannot DELETE.
func effectiveMethod(r *http.Request, q query, callback string) string {
	if callback == "" {
		return r.Method
	}
	switch m := q.get("method"); m {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete:
		return m
	}
	return r.Method
}
