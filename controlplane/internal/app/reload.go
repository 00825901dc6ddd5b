package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"tidecast.dev/controlplane/internal/config"
	"tidecast.dev/controlplane/internal/httpapi"
)

// The stages of a reload, as SRS's rpc=reload-fetch reports them.
const (
	stateInit     = 0
	stateParsing  = 10
	stateChecking = 20
	stateApplying = 30
	stateFinished = 90
)

// reloader runs reloads one at a time in its own goroutine; requests that
// arrive while one is pending are folded into it.
type reloader struct {
	do      func() httpapi.ReloadStatus
	pending chan struct{}

	mu   sync.Mutex
	last httpapi.ReloadStatus
}

func newReloader(do func() httpapi.ReloadStatus) *reloader {
	return &reloader{do: do, pending: make(chan struct{}, 1), last: httpapi.ReloadStatus{Msg: "Success", State: stateInit, RID: reloadID()}}
}

// Reload asks for a reload and returns at once.
func (r *reloader) Reload() error {
	select {
	case r.pending <- struct{}{}:
	default: // one is already pending: it will read the newest file
	}
	return nil
}

func (r *reloader) LastReload() httpapi.ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *reloader) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.pending:
			st := r.do()
			r.mu.Lock()
			r.last = st
			r.mu.Unlock()
		}
	}
}

func reloadID() string {
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// reload loads the configuration again and applies what changed. Nothing
// is applied unless the whole new configuration is valid, and every part
// that can fail (reading a certificate) is tried before anything changes.
func (a *App) reload() httpapi.ReloadStatus {
	st := httpapi.ReloadStatus{RID: reloadID(), State: stateParsing}
	fail := func(state int, err error) httpapi.ReloadStatus {
		st.State = state
		st.Err = config.CodeConfigInvalid
		if e, ok := errors.AsType[*config.Error](err); ok {
			st.Err = e.Code()
		}
		st.Msg = fmt.Sprintf("code=%d(ConfigInvalid) : reload : %v", st.Err, err)
		a.log.Error("reload failed, keeping the running configuration", "err", err)
		return st
	}
	next, err := LoadConfig(a.opts)
	if err != nil {
		return fail(stateParsing, err)
	}
	st.State = stateChecking
	old := a.cfg.Load()
	changes := next.Diff(old)
	if a.cert != nil && next.HTTPAPI.HTTPS.Enabled {
		// Read on every reload: a renewed certificate keeps its file names.
		if err := a.cert.Reload(next.HTTPAPI.HTTPS.Cert, next.HTTPAPI.HTTPS.Key); err != nil {
			return fail(stateChecking, err)
		}
	}

	st.State = stateApplying
	if changes.Auth {
		a.auth.Set(next.HTTPAPI.Auth.Username, next.HTTPAPI.Auth.Password.Reveal())
	}
	if changes.Fleet {
		a.fleet.SetToken(next.Fleet.Token.Reveal())
	}
	if changes.LogLevel && a.opts.LogLevel != nil {
		a.opts.LogLevel.Set(slogLevel(next.Log.EffectiveLevel()))
	}
	a.store(next)
	if changes.WorkerSettings || changes.Vhosts || changes.RTC {
		a.fleet.SetWorkerConfig(next)
	}
	for _, why := range restartOnly(old, next) {
		a.log.Warn("reload: change needs a restart", "directive", why)
	}
	a.log.Info("configuration reloaded", slog.Any("changes", changes))
	st.State, st.Msg = stateFinished, "Success"
	return st
}

// restartOnly lists changed directives that take effect only after a
// restart, as in SRS: listeners and the process's own settings.
func restartOnly(old, next *config.Config) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, name)
		}
	}
	add(old.HTTPAPI.Listen != next.HTTPAPI.Listen || old.HTTPAPI.Enabled != next.HTTPAPI.Enabled, "http_api.listen")
	add(old.HTTPAPI.HTTPS.Enabled != next.HTTPAPI.HTTPS.Enabled || old.HTTPAPI.HTTPS.Listen != next.HTTPAPI.HTTPS.Listen, "http_api.https")
	add(old.Fleet.Listen != next.Fleet.Listen || old.Fleet.TLS != next.Fleet.TLS, "fleet.listen")
	add(old.Fleet.ExpireAfter != next.Fleet.ExpireAfter || old.Fleet.PingInterval != next.Fleet.PingInterval, "fleet timing")
	add(old.ServerID != next.ServerID, "server_id")
	add(old.Exporter.Enabled != next.Exporter.Enabled || old.Exporter.Listen != next.Exporter.Listen, "exporter.listen")
	return out
}
