package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretsNeverPrint(t *testing.T) {
	c := mustLoad(t, "listen 1935; http_api { auth { password hunter2; } } fleet { token t0k3n; }", nil)
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out = append(out, fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c), fmt.Sprintf(verb, c.HTTPAPI.Auth), fmt.Sprintf(verb, c.Fleet.Token))
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(h).Info("config", "cfg", c, "auth", c.HTTPAPI.Auth, "token", c.Fleet.Token)
	}
	out = append(out, logs.String())

	for _, s := range out {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "t0k3n") ||
			strings.Contains(s, fmt.Sprintf("%x", "hunter2")) || strings.Contains(s, fmt.Sprintf("%x", "t0k3n")) {
			t.Errorf("secret printed: %s", s)
		}
	}
	if !strings.Contains(string(j), `"Password":"[redacted]"`) {
		t.Errorf("JSON does not show the password as redacted: %s", j)
	}
	if c.HTTPAPI.Auth.Password.Reveal() != "hunter2" || c.Fleet.Token.Reveal() != "t0k3n" {
		t.Error("Reveal does not return the secret")
	}
}

func TestAnUnsetSecretPrintsEmpty(t *testing.T) {
	if s := fmt.Sprint(Secret("")); s != "" {
		t.Errorf("unset secret prints %q", s)
	}
}
