// Package certreload serves a TLS certificate that can be replaced while
// the server runs: a reload reads the key and certificate again, and new
// handshakes use them at once.
package certreload

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// Loader holds the current certificate.
type Loader struct {
	cert atomic.Pointer[tls.Certificate]
}

// New loads a PEM certificate (chain) and key, failing with a message that
// names the files.
func New(certFile, keyFile string) (*Loader, error) {
	l := &Loader{}
	if err := l.Reload(certFile, keyFile); err != nil {
		return nil, err
	}
	return l, nil
}

// Reload reads the files again; on failure the current certificate stays.
func (l *Loader) Reload(certFile, keyFile string) error {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("loading certificate %q and key %q: %w", certFile, keyFile, err)
	}
	l.cert.Store(&c)
	return nil
}

// TLSConfig is a server configuration for TLS 1.2 or newer with modern
// AEAD cipher suites (TLS 1.3 suites are not configurable and all modern).
func (l *Loader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return l.cert.Load(), nil },
	}
}
