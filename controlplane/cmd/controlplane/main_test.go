package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "srs.conf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestTestingAValidConfigSaysItIsSuccessful(t *testing.T) {
	file := writeConf(t, "listen 1935;\nhttp_api { enabled on; }\nvhost __defaultVhost__ { hls { enabled on; } }\n")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-t", "-c", file}, noEnv, &out, &out); err != nil {
		t.Fatalf("-t on a valid file: %v", err)
	}
	if !strings.Contains(out.String(), "test is successful") || !strings.Contains(out.String(), "vhost.hls") {
		t.Fatalf("output = %q, want success and a warning about vhost.hls", out.String())
	}
}

func TestTestingAnInvalidConfigFailsWithSRSsExitCodeAndWhere(t *testing.T) {
	file := writeConf(t, "listen 1935;\nbogus_directive on;\n")
	var out bytes.Buffer
	err := run(context.Background(), []string{"-t", "-c", file}, noEnv, &out, &out)
	e, ok := errors.AsType[*exitError](err)
	if !ok || e.code != 1023%256 {
		t.Fatalf("-t on an invalid file: %v, want exit code %d", err, 1023%256)
	}
	if !strings.Contains(err.Error(), "srs.conf:2") || !strings.Contains(err.Error(), "bogus_directive") {
		t.Fatalf("error = %q, want it to name srs.conf:2 and the directive", err)
	}
}

func TestTestingAMissingFileFailsWithTheFileOpenCode(t *testing.T) {
	err := run(context.Background(), []string{"-t", "-c", "/nonexistent/srs.conf"}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if e, ok := errors.AsType[*exitError](err); !ok || e.code != 1042%256 {
		t.Fatalf("-t on a missing file: %v, want exit code %d", err, 1042%256)
	}
}

func TestTheConfigFileCanComeFromTheEnvironment(t *testing.T) {
	file := writeConf(t, "listen 1935;\n")
	env := func(k string) string {
		if k == "SRS_CONFIG_FILE" {
			return file
		}
		return ""
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-t"}, env, &out, &out); err != nil || !strings.Contains(out.String(), file) {
		t.Fatalf("-t with SRS_CONFIG_FILE: %v, output %q", err, out.String())
	}
}

func TestEnvOnlyNeedsNoFile(t *testing.T) {
	env := func(k string) string {
		if k == "SRS_ENV_ONLY" {
			return "1"
		}
		return ""
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-t"}, env, &out, &out); err != nil {
		t.Fatalf("-t with SRS_ENV_ONLY: %v", err)
	}
}

func TestVersionIsPrinted(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-v"}, noEnv, &out, &out); err != nil || strings.TrimSpace(out.String()) == "" {
		t.Fatalf("-v: %v, %q", err, out.String())
	}
}
