package certreload

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"tidecast.dev/controlplane/internal/testpki"
)

func writeSelfSigned(t *testing.T, dir, cn string) (certFile, keyFile string) {
	p := testpki.SelfSigned(t, dir, cn)
	return p.Cert, p.Key
}

// servedName dials a TLS listener and returns the served certificate's CN.
func servedName(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// handshakeAll completes the handshake of every connection lis accepts,
// until it is closed.
func handshakeAll(lis net.Listener) {
	for {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
	}
}

func TestAReloadedCertificateIsServedToNewConnections(t *testing.T) {
	dir := t.TempDir()
	c1, k1 := writeSelfSigned(t, dir, "first")
	l, err := New(c1, k1)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := tls.Listen("tcp", "127.0.0.1:0", l.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go handshakeAll(lis)
	if got := servedName(t, lis.Addr().String()); got != "first" {
		t.Fatalf("served %q, want first", got)
	}
	c2, k2 := writeSelfSigned(t, dir, "second")
	if err := l.Reload(c2, k2); err != nil {
		t.Fatal(err)
	}
	if got := servedName(t, lis.Addr().String()); got != "second" {
		t.Fatalf("served %q after reload, want second", got)
	}
	if err := l.Reload(filepath.Join(dir, "missing.crt"), k2); err == nil {
		t.Fatal("reload of a missing certificate succeeded")
	}
	if got := servedName(t, lis.Addr().String()); got != "second" {
		t.Fatalf("a failed reload replaced the certificate: served %q", got)
	}
}

func TestAMissingKeyFailsWithAMessageNamingTheFiles(t *testing.T) {
	_, err := New("/nonexistent/server.crt", "/nonexistent/server.key")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/server.crt") {
		t.Fatalf("error = %v, want one naming the certificate file", err)
	}
}

func TestOldTLSVersionsAreRefused(t *testing.T) {
	dir := t.TempDir()
	c, k := writeSelfSigned(t, dir, "x")
	l, _ := New(c, k)
	lis, err := tls.Listen("tcp", "127.0.0.1:0", l.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go handshakeAll(lis)
	_, err = tls.Dial("tcp", lis.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
}
