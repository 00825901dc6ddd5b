package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// SRS's codes for pid file failures (exit status: the code mod 256).
const (
	codePidAcquire        = 1034 // ERROR_SYSTEM_PID_ACQUIRE
	codePidAlreadyRunning = 1035 // ERROR_SYSTEM_PID_ALREADY_RUNNING
	codePidWrite          = 1038 // ERROR_SYSTEM_PID_WRITE_FILE
)

// pidFile is the file `pid FILE;` names, as SRS keeps it: created at
// start (with its directory), holding the process id, locked so that a
// second server given the same file refuses to start, and removed at a
// clean shutdown.
type pidFile struct {
	path string
	f    *os.File
}

// acquirePidFile creates, locks and writes the pid file. A path that
// cannot be written is an error naming the directive and the file.
func acquirePidFile(path string) (*pidFile, error) {
	fail := func(code int, what string, err error) error {
		return &exitError{code: code % 256, err: fmt.Errorf("pid %s: %s: %w", path, what, err)}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fail(codePidAcquire, "cannot create the pid file's directory", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fail(codePidAcquire, "cannot open the pid file", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fail(codePidAlreadyRunning, "locked by another running server", err)
		}
		return nil, fail(codePidAcquire, "cannot lock the pid file", err)
	}
	// SRS writes the bare number, without a newline.
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	if err != nil {
		f.Close()
		return nil, fail(codePidWrite, "cannot write the pid file", err)
	}
	return &pidFile{path: path, f: f}, nil
}

// release removes the file, then lets its lock go.
func (p *pidFile) release() error {
	err := os.Remove(p.path)
	return errors.Join(err, p.f.Close())
}
