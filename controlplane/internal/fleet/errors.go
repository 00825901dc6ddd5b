package fleet

import (
	"errors"
	"fmt"
)

// Error carries the SRS numeric code the API reports for a failure.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (code %d)", e.Msg, e.Code) }

// Codes reported for fleet commands. 2049 is SRS's; SRS has no
// control-plane hop, so a worker that cannot be reached or does not answer
// in time reports SRS's socket codes.
const (
	CodeClientNotFound    = 2049
	CodeWorkerTimeout     = 1011 // ERROR_SOCKET_TIMEOUT
	CodeWorkerUnreachable = 1012 // ERROR_SOCKET_CONNECT
)

var (
	// ErrClientNotFound: no worker serves a client with that id.
	ErrClientNotFound = &Error{Code: CodeClientNotFound, Msg: "client not found"}
	// ErrWorkerUnreachable: the owning worker has no session to this replica.
	ErrWorkerUnreachable = &Error{Code: CodeWorkerUnreachable, Msg: "worker not connected"}
	// ErrWorkerTimeout: the owning worker did not answer in time.
	ErrWorkerTimeout = &Error{Code: CodeWorkerTimeout, Msg: "worker did not answer in time"}
)

// CodeOf returns the SRS code of err: 0 for nil, 1 when it carries none.
func CodeOf(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return 1
}
