package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// pprofServer serves net/http/pprof for profiling a running worker
// (-pprof-listen). Profiles expose the process's internals, so it is off
// by default and listens on loopback only.
type pprofServer struct {
	srv  *http.Server
	done chan struct{}
}

func startPprof(addr string, log *slog.Logger) (*pprofServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof-listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-pprof-listen %q: not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := &pprofServer{srv: &http.Server{Handler: mux}, done: make(chan struct{})}
	log.Info("pprof listening", "addr", ln.Addr().String())
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln) // returns when closed
	}()
	return p, nil
}

// Close stops serving and waits for the server's goroutine.
func (p *pprofServer) Close() {
	p.srv.Close()
	<-p.done
}
