package sysstats

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The parsers below cover the files procfs does not model the way SRS
// reports them: every field of /proc/[pid]/stat, /proc/uptime, and two
// lines of /proc/vmstat.

// parseProcStat parses /proc/[pid]/stat. comm may hold spaces and
// parentheses, so it spans from the first '(' to the last ')'.
func parseProcStat(data []byte) (ProcStat, error) {
	var st ProcStat
	open, closing := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 1 || closing < open {
		return st, errors.New("proc stat: no (comm)")
	}
	pid, err := strconv.ParseInt(string(bytes.TrimSpace(data[:open])), 10, 64)
	if err != nil {
		return st, fmt.Errorf("proc stat: pid: %w", err)
	}
	fields := strings.Fields(string(data[closing+1:]))
	if len(fields) < 1+len(st.Values) {
		return st, fmt.Errorf("proc stat: %d fields after comm, want %d", len(fields), 1+len(st.Values))
	}
	st.PID, st.Comm, st.State = pid, string(data[open:closing+1]), fields[0]
	for i := range st.Values {
		if st.Values[i], err = parseWrapped(fields[1+i]); err != nil {
			return st, fmt.Errorf("proc stat: %s: %w", ProcStatFields[i], err)
		}
	}
	return st, nil
}

// parseWrapped reads a decimal the kernel may print signed or unsigned;
// unsigned values beyond int64 wrap around, as they do in SRS.
func parseWrapped(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return v, nil
	}
	u, uerr := strconv.ParseUint(s, 10, 64)
	if uerr != nil {
		return 0, err
	}
	return int64(u), nil
}

// parseUptime parses /proc/uptime: seconds since boot and seconds all
// processors spent idle.
func parseUptime(data []byte) (uptime, idle float64, err error) {
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, 0, errors.New("uptime: want two fields")
	}
	if uptime, err = strconv.ParseFloat(f[0], 64); err != nil {
		return 0, 0, fmt.Errorf("uptime: %w", err)
	}
	if idle, err = strconv.ParseFloat(f[1], 64); err != nil {
		return 0, 0, fmt.Errorf("uptime: %w", err)
	}
	return uptime, idle, nil
}

// parseVMStat reads the kilobytes paged in from and out to disk since boot
// from /proc/vmstat.
func parseVMStat(data []byte) (pgpgin, pgpgout uint64, err error) {
	var in, out bool
	for line := range strings.Lines(string(data)) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		var dst *uint64
		switch key {
		case "pgpgin":
			dst, in = &pgpgin, true
		case "pgpgout":
			dst, out = &pgpgout, true
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(value, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("vmstat: %s: %w", key, err)
		}
	}
	if !in || !out {
		return 0, 0, errors.New("vmstat: no pgpgin/pgpgout")
	}
	return pgpgin, pgpgout, nil
}
