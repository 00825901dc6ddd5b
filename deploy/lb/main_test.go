package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// backend is a loopback server that answers every connection with its
// name once the client has half-closed, then closes.
func backend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, _ := io.ReadAll(c)
				_, _ = io.WriteString(c, name+":"+string(req))
			}()
		}
	}()
	return ln.Addr().String()
}

// refusing returns a loopback address nobody listens on.
func refusing(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startLB runs a balancer whose name "svc" resolves to addrs; dials go to
// ports[ip] (the tests' backends all share 127.0.0.1).
func startLB(t *testing.T, addrs func() ([]string, error), ports map[string]string) (string, *balancer) {
	t.Helper()
	b, err := newBalancer([]string{"svc:1985"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b.lookup = func(_ context.Context, host string) ([]string, error) {
		if host != "svc" {
			t.Errorf("looked up %q", host)
		}
		return addrs()
	}
	var d net.Dialer
	b.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return d.DialContext(ctx, network, ports[host])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.serve(ctx, ln, 20*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("serve did not return within 5 s of cancellation")
		}
	})
	return ln.Addr().String(), b
}

// ask sends req through the balancer, half-closes and reads the answer.
func ask(t *testing.T, lb, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", lb, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}

func TestConnectionsGoToEveryResolvedAddressInTurnAndHalfClosesPassThrough(t *testing.T) {
	lb, _ := startLB(t, func() ([]string, error) { return []string{"10.0.0.2", "10.0.0.1"}, nil },
		map[string]string{"10.0.0.1": backend(t, "one"), "10.0.0.2": backend(t, "two")})
	var got []string
	for range 4 {
		got = append(got, ask(t, lb, "ping"))
	}
	want := []string{"one:ping", "two:ping", "one:ping", "two:ping"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("answers %q, want %q", got, want)
	}
}

func TestABackendThatRefusesIsSkippedAndTriedLast(t *testing.T) {
	lb, b := startLB(t, func() ([]string, error) { return []string{"10.0.0.1", "10.0.0.2"}, nil },
		map[string]string{"10.0.0.1": refusing(t), "10.0.0.2": backend(t, "alive")})
	for i := range 4 {
		if got := ask(t, lb, "x"); got != "alive:x" {
			t.Fatalf("answer %d = %q", i, got)
		}
	}
	if c := b.candidates(time.Now()); len(c) != 2 || c[len(c)-1] != net.JoinHostPort("10.0.0.1", "1985") {
		t.Fatalf("candidates %v: the refusing backend should come last", c)
	}
}

func TestWithNoBackendTheClientIsClosed(t *testing.T) {
	lb, _ := startLB(t, func() ([]string, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "svc", IsNotFound: true}
	}, nil)
	c, err := net.DialTimeout("tcp", lb, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v: want the connection closed", n, err)
	}
}

func TestANameThatIsGoneHasNoAddressButAFailedLookupKeepsTheLastOnes(t *testing.T) {
	var mu sync.Mutex
	answer, fail := []string{"10.0.0.1"}, error(nil)
	set := func(a []string, err error) {
		mu.Lock()
		answer, fail = a, err
		mu.Unlock()
	}
	b, err := newBalancer([]string{"svc:1985", "10.9.9.9:80"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b.lookup = func(context.Context, string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		return answer, fail
	}
	ctx := context.Background()
	addrs := func() string {
		b.mu.Lock()
		defer b.mu.Unlock()
		return strings.Join(b.addrs, ",")
	}
	b.resolve(ctx)
	if got := addrs(); got != "10.0.0.1:1985,10.9.9.9:80" {
		t.Fatalf("addrs %s", got)
	}
	set(nil, errors.New("server misbehaving"))
	b.resolve(ctx)
	if got := addrs(); got != "10.0.0.1:1985,10.9.9.9:80" {
		t.Fatalf("after a failed lookup: %s", got)
	}
	set(nil, &net.DNSError{Err: "no such host", Name: "svc", IsNotFound: true})
	b.resolve(ctx)
	if got := addrs(); got != "10.9.9.9:80" {
		t.Fatalf("after NXDOMAIN: %s", got)
	}
}

func TestStoppingClosesTheConnectionsItCarries(t *testing.T) {
	held := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		<-held // the backend never answers nor closes
	}()
	defer close(held)

	b, _ := newBalancer([]string{ln.Addr().String()}, slog.New(slog.DiscardHandler))
	front, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.serve(ctx, front, time.Hour) }()
	c, err := net.Dial("tcp", front.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("hello"))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve still running 5 s after cancellation")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("client connection still open after stop: %v", err)
	}
}

func TestHealthcheckAndCommandLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"LB_LISTEN": ln.Addr().String()}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"healthcheck"}, func(k string) string { return env[k] }, &out, &errOut); err != nil || out.String() != "healthy\n" {
		t.Fatalf("healthcheck: %v %q %q", err, out.String(), errOut.String())
	}
	addr := refusing(t)
	if err := run(context.Background(), []string{"healthcheck", "-listen", addr, "-timeout", "1s"}, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Fatal("healthcheck of a closed port passed")
	}
	if err := run(context.Background(), []string{"-backends", "no-port"}, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Fatal("a backend without a port was accepted")
	}
}
