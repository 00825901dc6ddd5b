package server

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"tidecast.dev/dataplane/internal/hub"
	"tidecast.dev/dataplane/internal/registry"
)

var _ Registry = (*registry.Registry)(nil)

type testServer struct {
	*Server
	reg  *registry.Registry
	addr string
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("RTMP_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServer runs a server on a loopback port until the test ends.
func startServer(t testing.TB, st Settings) *testServer {
	t.Helper()
	return startServerWithHub(t, st, hub.Options{})
}

// startServerWithHub starts a server on a hub of its own, made with ho.
func startServerWithHub(t testing.TB, st Settings, ho hub.Options) *testServer {
	t.Helper()
	return startServerLogging(t, st, ho, testLogger(t))
}

// startServerLogging starts a server logging to log.
func startServerLogging(t testing.TB, st Settings, ho hub.Options, log *slog.Logger) *testServer {
	t.Helper()
	if st.Listen == nil {
		st.Listen = []string{"127.0.0.1:0"}
	}
	reg := registry.New(nil)
	h := hub.New(reg, ho)
	t.Cleanup(h.Close) // after the server's cleanup, which runs first
	s, err := New(st, h, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &testServer{Server: s, reg: reg, addr: s.Addrs()[0].String()}
}

func (s *testServer) url(path string) string { return "rtmp://" + s.addr + "/" + path }
