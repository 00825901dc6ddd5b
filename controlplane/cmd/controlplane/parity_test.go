package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fixtures of the config package's parity tests, through -t: the
// verdict SRS gives each file, the warnings printed, and for files that
// include foreign content, an error that never echoes it.
func TestTestingTheParityFixtures(t *testing.T) {
	// Includes resolve against the working directory, as in SRS.
	t.Chdir("../../internal/config/testdata")
	cases := []struct {
		file    string
		out     []string // in the output of a successful test
		err     string   // in the error of a failed one
		secrets []string // never in the output or the error
	}{
		{file: "parity/http_stream.conf", out: []string{"test is successful"}},
		{file: "parity/http_stream_both.conf", out: []string{
			`warning: parity/http_stream_both.conf:10: directive "http_server" repeats parity/http_stream_both.conf:6 and is ignored (SRS uses the first)`,
			"test is successful"}},
		{file: "parity/duplicates.conf", out: []string{
			`warning: parity/duplicates.conf:7: directive "max_connections" repeats parity/duplicates.conf:4 and is ignored`,
			"test is successful"}},
		{file: "parity/exporter.conf", out: []string{"test is successful"}},
		{file: "parity/daemon.conf", out: []string{`warning: parity/daemon.conf:4: directive "daemon" is on: the control plane does not fork`, "test is successful"}},
		{file: "parity/pid.conf", out: []string{"test is successful"}},
		{file: "parity/security.conf", out: []string{
			`directive "vhost.http_hooks" is not implemented and is ignored`,
			`vhost "hooks.srs.com": directive "vhost.http_hooks" is on but not implemented: on_connect, on_publish and on_play are NOT called, anyone may publish and play`,
			`vhost "security.srs.com": directive "vhost.security" is on but not implemented`,
			`vhost "refer.srs.com": directive "vhost.refer" is on but not implemented`,
			"test is successful"}},
		{file: "foreign/shadow.conf", err: `foreign/shadow:1: not a directive: unexpected end of line`, secrets: []string{"root", "20228"}},
		{file: "foreign/token.conf", err: `foreign/token:1: not a directive: unexpected end of file`, secrets: []string{"Zx9Qw7Lk3Mn5Bv1Cx8"}},
		{file: "foreign/password.conf", err: `foreign/password:1: directive "password": unexpected end of line`, secrets: []string{"hunter2"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"-t", "-c", tc.file}, noEnv, &out, &out)
			if tc.err != "" {
				e, ok := errors.AsType[*exitError](err)
				if !ok || e.code != 1023%256 || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("-t: %v, want exit code %d and an error containing %q", err, 1023%256, tc.err)
				}
			} else if err != nil {
				t.Fatalf("-t: %v\n%s", err, out.String())
			}
			for _, want := range tc.out {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			for _, s := range tc.secrets {
				if strings.Contains(out.String(), s) || (err != nil && strings.Contains(err.Error(), s)) {
					t.Errorf("%q echoed: %v\n%s", s, err, out.String())
				}
			}
			if n := strings.Count(out.String(), `directive "vhost.http_hooks" is not implemented`); n > 1 {
				t.Errorf("http_hooks listed %d times, want once", n)
			}
		})
	}
}

// serveConf is a loopback configuration that runs without touching the
// disk but for the pid file.
func serveConf(pid string) string {
	return "listen 127.0.0.1:0;\ndaemon off;\nsrs_log_tank console;\nserver_id vid-cmdtest;\npid " + pid + ";\n" +
		"http_api { enabled on; listen 127.0.0.1:0; }\nfleet { listen 127.0.0.1:0; }\n"
}

// A server given pid FILE writes it and removes it when it stops cleanly.
func TestThePidFileLivesAsLongAsTheServer(t *testing.T) {
	pid := filepath.Join(t.TempDir(), "run", "cp.pid") // its directory is created
	file := writeConf(t, serveConf(pid))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stop at once: Run returns as soon as it has started
	var out bytes.Buffer
	if err := run(ctx, []string{"-c", file}, noEnv, &out, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "pid file written") || !strings.Contains(out.String(), "pid="+strconv.Itoa(os.Getpid())) {
		t.Errorf("no log of the pid file:\n%s", out.String())
	}
	if _, err := os.Stat(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file still there after a clean stop: %v", err)
	}
}

func TestAnUnwritablePidFileFailsTheStartWithAClearMessage(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pid := filepath.Join(notADir, "cp.pid")
	file := writeConf(t, serveConf(pid))
	var out bytes.Buffer
	err := run(context.Background(), []string{"-c", file}, noEnv, &out, &out)
	e, ok := errors.AsType[*exitError](err)
	if !ok || e.code != codePidAcquire%256 || !strings.Contains(err.Error(), "pid "+pid+": cannot create the pid file's directory") {
		t.Fatalf("run: %v, want exit code %d and a message naming the pid file", err, codePidAcquire%256)
	}
	if strings.Contains(out.String(), "listening") {
		t.Errorf("the server started listening before failing:\n%s", out.String())
	}
}

func TestThePidFileHoldsThePidAndKeepsASecondServerOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srs.pid")
	if err := os.WriteFile(path, []byte("999999999 stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := acquirePidFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file holds %q, want %d (a stale content replaced)", b, os.Getpid())
	}
	_, err = acquirePidFile(path)
	if e, ok := errors.AsType[*exitError](err); !ok || e.code != codePidAlreadyRunning%256 || !strings.Contains(err.Error(), "locked by another running server") {
		t.Errorf("second acquire: %v, want exit code %d", err, codePidAlreadyRunning%256)
	}
	if err := p.release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file still there after release: %v", err)
	}
	p, err = acquirePidFile(path)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	p.release()
}
