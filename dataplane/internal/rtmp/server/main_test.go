package server

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the server starts is joined by Close: none may outlive
// the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
