package certreload

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 with the
// given common name and returns the two file names.
func writeSelfSigned(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
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
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
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
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	_, err = tls.Dial("tcp", lis.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
}
