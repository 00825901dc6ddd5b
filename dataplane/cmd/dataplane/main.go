// Command dataplane is the media worker: it serves RTMP (and WebRTC) and
// reports to every control-plane replica over gRPC.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"tidecast.dev/dataplane/internal/app"
)

// defaultGOGC is the worker's GC goal unless GOGC is set. Its heap is
// mostly per-connection state that lives as long as the connections, and
// it allocates little per packet (one encoding shared by every player), so
// collecting at +50% instead of +100% costs no measurable CPU and saves
// about a quarter of the RSS per player (54 to 40 KiB in the RTMP
// benchmark).
const defaultGOGC = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dataplane:", err)
		}
		os.Exit(1)
	}
}

// flagSpec pairs a flag with the environment variable that sets its
// default, so both are documented by -h.
type flagSpec struct {
	name, env, def, usage string
	dst                   *string
	// secret flags take their environment value after parsing, so that
	// -h never prints it as a default.
	secret bool
}

// define adds the flag to fs, its default taken from the environment
// unless the flag is secret.
func (s flagSpec) define(fs *flag.FlagSet, getenv func(string) string) {
	def := s.def
	if v := getenv(s.env); v != "" && !s.secret {
		def = v
	}
	fs.StringVar(s.dst, s.name, def, s.usage+" (env "+s.env+")")
}

// nodeIDFlag is the worker's id. The health probe, run in the worker's
// container with its environment and host name, finds the worker by it.
func nodeIDFlag(dst *string) flagSpec {
	host, _ := os.Hostname()
	return flagSpec{"node-id", "DATAPLANE_NODE_ID", host, "this worker's id, unique in the fleet", dst, false}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("dataplane", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var nodeID, controlPlanes, token, rtmpListen, httpListen, webrtcListen, advertiseRTMP, advertiseHTTP, advertiseWebRTC, logLevel string
	var tlsCA, tlsCert, tlsKey, tlsServerName, pprofListen string
	specs := []flagSpec{
		nodeIDFlag(&nodeID),
		{"control-plane", "DATAPLANE_CONTROL_PLANE", "127.0.0.1:1988", "control-plane addresses host:port, comma separated; a name resolving to several addresses counts as several replicas", &controlPlanes, false},
		{"token", "DATAPLANE_TOKEN", "", "shared token presented to the control plane", &token, true},
		{"rtmp-listen", "DATAPLANE_RTMP_LISTEN", ":1935", "RTMP listen addresses [ip:]port, comma separated (the control plane's listen directive replaces them)", &rtmpListen, false},
		{"http-listen", "DATAPLANE_HTTP_LISTEN", "", "HTTP-FLV listen addresses [ip:]port, comma separated, until the control plane's config arrives (its http_server replaces them; default: off)", &httpListen, false},
		{"webrtc-listen", "DATAPLANE_WEBRTC_LISTEN", ":8000", "WebRTC UDP listen address [ip:]port", &webrtcListen, false},
		{"advertise-rtmp", "DATAPLANE_ADVERTISE_RTMP", "", "RTMP addresses clients use to reach this worker, comma separated (default: the listen addresses)", &advertiseRTMP, false},
		{"advertise-http", "DATAPLANE_ADVERTISE_HTTP", "", "HTTP-FLV addresses clients use to reach this worker, comma separated (default: the listen addresses)", &advertiseHTTP, false},
		{"advertise-webrtc", "DATAPLANE_ADVERTISE_WEBRTC", "", "WebRTC addresses clients use to reach this worker, comma separated", &advertiseWebRTC, false},
		{"log-level", "DATAPLANE_LOG_LEVEL", "info", "debug, info, warn or error", &logLevel, false},
		{"tls-ca", "DATAPLANE_TLS_CA", "", "CA certificate (PEM) that signed the control plane's certificate; setting it turns TLS on", &tlsCA, false},
		{"tls-cert", "DATAPLANE_TLS_CERT", "", "client certificate (PEM) for mutual TLS", &tlsCert, false},
		{"tls-key", "DATAPLANE_TLS_KEY", "", "client key (PEM) for mutual TLS", &tlsKey, false},
		{"tls-server-name", "DATAPLANE_TLS_SERVER_NAME", "", "name to verify in the control plane's certificate (default: the address's host)", &tlsServerName, false},
		{"pprof-listen", "DATAPLANE_PPROF_LISTEN", "", "serve net/http/pprof on this loopback address, e.g. 127.0.0.1:6060 (default: off)", &pprofListen, false},
	}
	for _, s := range specs {
		s.define(fs, getenv)
	}
	showVersion := fs.Bool("v", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range specs {
		if s.secret && *s.dst == "" {
			*s.dst = getenv(s.env)
		}
	}
	if *showVersion {
		fmt.Fprintln(stdout, app.Version)
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	tlsConfig, err := clientTLS(tlsCA, tlsCert, tlsKey, tlsServerName)
	if err != nil {
		return err
	}
	if pprofListen != "" {
		p, err := startPprof(pprofListen, log)
		if err != nil {
			return err
		}
		defer p.Close()
	}
	a, err := app.New(app.Config{
		NodeID:          nodeID,
		ControlPlanes:   splitList(controlPlanes),
		Token:           token,
		TLS:             tlsConfig,
		RTMPListen:      splitList(rtmpListen),
		WebRTCListen:    webrtcListen,
		AdvertiseRTMP:   splitList(advertiseRTMP),
		HTTPListen:      splitList(httpListen),
		AdvertiseHTTP:   splitList(advertiseHTTP),
		AdvertiseWebRTC: splitList(advertiseWebRTC),
		ResolveEvery:    5 * time.Second,
		Logger:          log,
	})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

// clientTLS builds the sessions' TLS configuration: nil (plaintext) unless
// a CA is given; a client certificate makes it mutual.
func clientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	if caFile == "" {
		if certFile != "" || keyFile != "" {
			return nil, errors.New("-tls-cert and -tls-key need -tls-ca")
		}
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool(), ServerName: serverName}
	if !tc.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-tls-ca: no certificate in %q", caFile)
	}
	if certFile != "" || keyFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}
