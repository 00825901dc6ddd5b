package media

import (
	"errors"
	"fmt"
)

// Error is an error that carries the SRS numeric code the API reports for it.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Msg, e.Code) }

// The SRS codes this worker reports.
const (
	CodeStreamBusy     = 1028
	CodeClientNotFound = 2049
	CodeExceedConns    = 1074
)

var (
	// ErrClientNotFound: no client with that id on this worker.
	ErrClientNotFound = &Error{Code: CodeClientNotFound, Msg: "client not found"}
	// ErrStreamBusy: the stream already has a publisher.
	ErrStreamBusy = &Error{Code: CodeStreamBusy, Msg: "stream is busy"}
	// ErrTooManyConnections: max_connections reached.
	ErrTooManyConnections = &Error{Code: CodeExceedConns, Msg: "too many connections"}
)

// CodeOf returns the SRS code of err, 0 for nil and 1 for an error that
// carries none.
func CodeOf(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return 1
}
