package app

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tidecast.dev/controlplane/internal/config"
)

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// serverID returns the cluster's id: the configured server_id, else the id
// persisted next to the pid file (as SRS does), else a new one persisted
// there. Replicas of one cluster should configure the same server_id.
func serverID(configured, pidFile string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	idFile := strings.TrimSuffix(pidFile, ".pid") + ".id"
	if b, err := os.ReadFile(idFile); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			// It goes into every API response, as server_id would.
			if err := config.CheckServerID(id); err != nil {
				return "", fmt.Errorf("%s: %w (remove the file to have a new id made)", idFile, err)
			}
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	id := "vid-" + string(b)
	if err := os.MkdirAll(filepath.Dir(idFile), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(idFile, []byte(id), 0o644); err != nil {
		return "", err
	}
	return id, nil
}
