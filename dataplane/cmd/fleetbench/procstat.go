package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// procSample is a process's CPU time and resident set at one instant.
type procSample struct {
	at       time.Time
	cpu      time.Duration // user + system
	rssBytes int64
}

// readProc samples /proc/<pid>/stat. A zombie counts as gone: a crashed
// child stays a zombie until its parent (the benchmark script) reaps it.
func readProc(pid int) (procSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// The command name (field 2) may hold spaces: fields count from the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 22 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	if f[0] == "Z" || f[0] == "X" {
		return procSample{}, fmt.Errorf("process %d has exited", pid)
	}
	num := func(field int) int64 { v, _ := strconv.ParseInt(f[field-3], 10, 64); return v }
	ticks := num(14) + num(15) // utime, stime
	return procSample{
		at:       time.Now(),
		cpu:      time.Duration(ticks) * time.Second / clockTicks,
		rssBytes: num(24) * int64(os.Getpagesize()),
	}, nil
}

// cpuShare is the CPU used between two samples, as a share of one core.
func cpuShare(from, to procSample) float64 {
	return float64(to.cpu-from.cpu) / float64(to.at.Sub(from.at))
}

// checkAlive fails when a process is gone.
func checkAlive(pids []int) error {
	for _, pid := range pids {
		if _, err := readProc(pid); err != nil {
			return err
		}
	}
	return nil
}

// peakRSS is VmHWM, the highest resident set the process has had.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}
