// Command controlplane serves the SRS-compatible HTTP API for a fleet of
// media workers, owns the configuration and pushes it to the workers.
//
// The command line follows SRS: -c FILE (or SRS_CONFIG_FILE), -t to test
// the configuration, -e (or SRS_ENV_ONLY) to configure from the
// environment alone, -v for the version. Without -c the embedded default
// configuration is used.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"tidecast.dev/controlplane/internal/app"
	"tidecast.dev/controlplane/internal/config"
)

// exitError carries the process exit status SRS uses: the error's code
// modulo 256.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "controlplane:", err)
	if e, ok := errors.AsType[*exitError](err); ok {
		os.Exit(e.code)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("controlplane", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "SRS-format configuration file (env SRS_CONFIG_FILE); default: the embedded configuration")
	test := fs.Bool("t", false, "test the configuration and exit")
	envOnly := fs.Bool("e", false, "configure from SRS_* environment variables only (env SRS_ENV_ONLY)")
	version := fs.Bool("v", false, "print the version and exit")
	fs.BoolVar(version, "V", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version {
		fmt.Fprintln(stdout, app.Version)
		return nil
	}
	if f := getenv("SRS_CONFIG_FILE"); f != "" {
		*file = f
	}
	if getenv("SRS_ENV_ONLY") != "" {
		*envOnly = true
	}
	opts := app.Options{ConfigFile: *file, EnvOnly: *envOnly, Getenv: getenv}
	name := *file
	if name == "" {
		name = "(embedded default)"
	}
	if *test {
		cfg, err := app.LoadConfig(opts)
		if err != nil {
			return configExit(err)
		}
		for _, w := range cfg.Warnings {
			fmt.Fprintln(stdout, "warning:", w)
		}
		fmt.Fprintf(stdout, "the config file %s syntax is ok\nconfig file %s test is successful\n", name, name)
		return nil
	}

	cfg, err := app.LoadConfig(opts)
	if err != nil {
		return configExit(err)
	}
	log, level, closeLog, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	opts.Logger, opts.LogLevel = log, level
	log.Info("starting control plane", "version", app.Version, "config", name)
	if cfg.WritePid {
		pid, err := acquirePidFile(cfg.PidFile)
		if err != nil {
			return err
		}
		defer func() {
			if err := pid.release(); err != nil {
				log.Warn("removing the pid file", "file", cfg.PidFile, "err", err)
			}
		}()
		log.Info("pid file written", "file", cfg.PidFile, "pid", os.Getpid())
	}
	a, err := app.New(opts, cfg)
	if err != nil {
		return configExit(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go reloadOnHangup(ctx, a)
	return a.Run(ctx)
}

func configExit(err error) error {
	if e, ok := errors.AsType[*config.Error](err); ok {
		return &exitError{code: e.Code() % 256, err: err}
	}
	return err
}

// newLogger follows srs_log_tank and the log level: "console" logs to
// stderr, "file" to srs_log_file. The level can change on reload.
func newLogger(l config.Log, stderr io.Writer) (*slog.Logger, *slog.LevelVar, func(), error) {
	out, closeFn := stderr, func() {}
	if l.Tank == "file" && l.File != "" {
		f, err := os.OpenFile(l.File, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("opening log file: %w", err)
		}
		out, closeFn = f, func() { f.Close() }
	}
	level := new(slog.LevelVar)
	level.Set(app.SlogLevel(l.EffectiveLevel()))
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})), level, closeFn, nil
}

// reloadOnHangup reloads the configuration on every SIGHUP, as SRS does.
func reloadOnHangup(ctx context.Context, a *app.App) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = a.Reload()
		}
	}
}
