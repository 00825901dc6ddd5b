package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// pki is a throwaway CA with one server and one client certificate.
type pki struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return der, kder
	}
	sDER, sKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	cDER, cKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	return pki{
		ca:         write("ca.crt", "CERTIFICATE", caDER),
		serverCert: write("server.crt", "CERTIFICATE", sDER),
		serverKey:  write("server.key", "EC PRIVATE KEY", sKey),
		clientCert: write("client.crt", "CERTIFICATE", cDER),
		clientKey:  write("client.key", "EC PRIVATE KEY", cKey),
	}
}

func TestWorkersCanBeRequiredToPresentAClientCertificate(t *testing.T) {
	p := newPKI(t)
	conf := strings.Replace(confWith(""), "token e2e-token;",
		"token e2e-token; tls { enabled on; cert "+p.serverCert+"; key "+p.serverKey+"; client_ca "+p.ca+"; }", 1)
	cp := startControlPlane(t, conf)
	_, bin := binaries(t)
	start(t, "dataplane with certificate", bin, "-node-id", "trusted", "-control-plane", cp.fleet, "-token", "e2e-token",
		"-rtmp-listen", "127.0.0.1:0", "-tls-ca", p.ca, "-tls-cert", p.clientCert, "-tls-key", p.clientKey)
	without := start(t, "dataplane without certificate", bin, "-node-id", "untrusted", "-control-plane", cp.fleet, "-token", "e2e-token",
		"-rtmp-listen", "127.0.0.1:0", "-tls-ca", p.ca)
	eventually(t, 5*time.Second, "the worker with a certificate listed", func() bool {
		return slices.Equal(listedWorkers(t, cp.api), []string{"trusted"})
	})
	without.waitLog(regexpSessionEnded, 5*time.Second)
	if nodes := listedWorkers(t, cp.api); !slices.Equal(nodes, []string{"trusted"}) {
		t.Fatalf("workers = %v, want only the one with a certificate", nodes)
	}
}
