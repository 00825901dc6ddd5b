package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"tidecast.dev/controlplane/internal/fleet"
)

// exchange is one request as the handlers see it, with what SRS derives
// from it before any handler runs.
type exchange struct {
	w        http.ResponseWriter
	r        *http.Request
	query    query
	callback string // non-empty: answer as JSONP
	method   string // the verb to act on, after the JSONP override
	id       string // the rest of the path under a prefix route
}

func newExchange(w http.ResponseWriter, r *http.Request, id string) *exchange {
	q := query(r.URL.RawQuery)
	cb := q.get("callback")
	return &exchange{w: w, r: r, query: q, callback: cb, method: effectiveMethod(r, q, cb), id: id}
}

// Header values shared by every response; net/http never modifies them.
var (
	contentJSON  = []string{"application/json"}
	contentJS    = []string{"text/javascript"}
	contentText  = []string{"text/plain; charset=utf-8"}
	contentEmpty = []string{"0"}
)

// start begins a response body in a pooled buffer: with the JSONP
// callback's opening when the request asked for JSONP (§2.6).
func (x *exchange) start() *jsonw {
	j := getJSON()
	if x.callback != "" {
		j.b = append(j.b, x.callback...)
		j.b = append(j.b, '(')
	}
	return j
}

// send completes the body j holds ("cb(" + json + ")" for JSONP: no
// semicolon, text/javascript), writes it in one piece, and releases j. One
// write means one syscall however large the page.
func (x *exchange) send(j *jsonw) {
	defer putJSON(j)
	h := x.w.Header()
	if x.callback != "" {
		j.b = append(j.b, ')')
		h["Content-Type"] = contentJS
	} else {
		h["Content-Type"] = contentJSON
	}
	h["Content-Length"] = []string{strconv.Itoa(len(j.b))}
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(j.b)
}

// respond answers a document that starts with the envelope; payload, when
// not nil, adds its keys.
func (a *API) respond(x *exchange, payload func(j *jsonw)) {
	j := x.start()
	appendEnvelope(j, a.identity())
	if payload != nil {
		payload(j)
	}
	j.end()
	x.send(j)
}

// respondPage answers the envelope followed by a cached fragment that
// holds the payload keys and the closing brace.
func (a *API) respondPage(x *exchange, fragment []byte) {
	j := x.start()
	appendEnvelope(j, a.identity())
	j.b = append(j.b, fragment...)
	x.send(j)
}

// respondBare answers a document with code 0 and no envelope, as
// /api/v1/raw and /api/v1/clusters do; payload, when not nil, adds its
// keys.
func (a *API) respondBare(x *exchange, payload func(j *jsonw)) {
	j := x.start()
	j.open()
	j.int("code", 0)
	if payload != nil {
		payload(j)
	}
	j.end()
	x.send(j)
}

// writeText answers a plain-text status, the way SRS answers 405, 404 and
// redirects; never wrapped as JSONP.
func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h["Content-Type"] = contentText
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// redirect answers SRS's redirect (§2.2): Location keeps the query, and the
// body says where to.
func redirect(w http.ResponseWriter, r *http.Request, status int, path string) {
	target := path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header()["Location"] = []string{target}
	writeText(w, status, "Redirect to "+target)
}

// srsError is an application error (§2.5): HTTP 200 with {"code":N}.
type srsError int

func (e srsError) Error() string { return "SRS error code " + strconv.Itoa(int(e)) }

// The codes the API itself reports. Worker and fleet failures carry their
// own (fleet.Error).
const (
	errTestError        srsError = 100  // /api/v1/tests/errors, always
	errRawAPI           srsError = 1060 // ERROR_SYSTEM_CONFIG_RAW: rpc missing or unknown
	errRawAPIDisabled   srsError = 1061 // ERROR_SYSTEM_CONFIG_RAW_DISABLED
	errExporterDisabled srsError = 1090 // ERROR_EXPORTER_DISABLED
	errVhostNotFound    srsError = 2014 // ERROR_RTMP_VHOST_NOT_FOUND
	errStreamNotFound   srsError = 2048 // ERROR_RTMP_STREAM_NOT_FOUND
	errClientNotFound   srsError = fleet.CodeClientNotFound
	// errWorkerNotFound answers an unknown worker id (our extension). SRS
	// has no such code; a worker we do not know is one we cannot reach.
	errWorkerNotFound srsError = fleet.CodeWorkerUnreachable
)

// errMethodNotAllowed answers 405 Method Not Allowed as plain text.
var errMethodNotAllowed = errors.New("method not allowed")

// badRequest answers 400 with its text, where SRS would close the
// connection without a word (bad JSONP callback, ".." in the path).
type badRequest string

func (e badRequest) Error() string { return string(e) }

// fail is the one place where errors become responses (architecture §5).
func (a *API) fail(x *exchange, err error) {
	if bad, ok := errors.AsType[badRequest](err); ok {
		writeText(x.w, http.StatusBadRequest, "Bad Request: "+string(bad))
		return
	}
	if errors.Is(err, errMethodNotAllowed) {
		writeText(x.w, http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed))
		return
	}
	code, known := codeOf(err)
	if !known {
		a.log.Error("request failed", "method", x.r.Method, "path", x.r.URL.Path, "err", err)
	}
	j := x.start()
	j.open()
	j.int("code", int64(code))
	j.end()
	x.send(j)
}

// codedError is an error that says its SRS code, such as config.Error.
type codedError interface {
	error
	Code() int
}

// codeOf returns the SRS code to report for err, and whether err carried
// one; an error without a code is a bug or an outage worth a log line.
func codeOf(err error) (code int, known bool) {
	if c, ok := errors.AsType[srsError](err); ok {
		return int(c), true
	}
	if e, ok := errors.AsType[*fleet.Error](err); ok {
		return e.Code, true
	}
	if e, ok := errors.AsType[codedError](err); ok {
		return e.Code(), true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fleet.CodeWorkerTimeout, true
	}
	return fleet.CodeOf(err), false
}
