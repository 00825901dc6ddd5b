package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"tidecast.dev/controlplane/internal/app"
)

// healthcheck is the container health probe (images have no shell or
// curl): it reads the same configuration as the server, then checks that
// the API answers its root document with code 0 and that the fleet port
// accepts connections.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("controlplane healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "configuration file, as for the server (env SRS_CONFIG_FILE)")
	envOnly := fs.Bool("e", false, "configuration from the environment only (env SRS_ENV_ONLY)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f := getenv("SRS_CONFIG_FILE"); f != "" {
		*file = f
	}
	cfg, err := app.LoadConfig(app.Options{ConfigFile: *file, EnvOnly: *envOnly || getenv("SRS_ENV_ONLY") != "", Getenv: getenv})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if cfg.HTTPAPI.Enabled {
		if err := checkAPI(ctx, localAddr(cfg.HTTPAPI.Listen)); err != nil {
			return err
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", localAddr(cfg.Fleet.Listen))
	if err != nil {
		return fmt.Errorf("fleet endpoint: %w", err)
	}
	conn.Close()
	fmt.Fprintln(stdout, "healthy")
	return nil
}

func checkAPI(ctx context.Context, addr string) error {
	// The root document: SRS's auth guards only paths containing /api/.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("http api: %w", err)
	}
	defer res.Body.Close()
	var doc struct {
		Code *int `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&doc); err != nil || doc.Code == nil || *doc.Code != 0 {
		return fmt.Errorf("http api: %s answered %s without code 0", addr, res.Status)
	}
	return nil
}

// localAddr turns a listen address into one to dial on this host.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = "", listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
