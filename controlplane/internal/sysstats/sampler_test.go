package sysstats

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// procState holds the counters a fake /proc is written from.
type procState struct {
	utime, stime     int64 // ticks
	cpuUser, cpuIdle int64 // ticks
	pgpgin, pgpgout  int64 // kB
	sdaTicks         int64 // ms doing I/O
}

const fakePID = 4242

// writeProc writes a /proc and a /sys holding st's counters under dir.
func writeProc(t *testing.T, dir string, st procState) (procRoot, sysRoot string) {
	t.Helper()
	procRoot, sysRoot = filepath.Join(dir, "proc"), filepath.Join(dir, "sys")
	files := map[string]string{
		"stat": fmt.Sprintf("cpu  %d 20 300 %d 50 0 70 8 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\n"+
			"intr 1 2 3\nctxt 100\nbtime 1700000000\nprocesses 10\nprocs_running 1\nprocs_blocked 0\nsoftirq 1 0 0 0 0 0 0 0 0 0 0\n",
			st.cpuUser, st.cpuIdle),
		"meminfo": "MemTotal:        8000000 kB\nMemFree:         5000000 kB\nMemAvailable:    6000000 kB\n" +
			"Buffers:          100000 kB\nCached:           900000 kB\nActive:          1500000 kB\n" +
			"SwapTotal:        1000000 kB\nSwapFree:          750000 kB\n",
		"loadavg": "0.50 0.25 0.10 1/200 4242\n",
		"uptime":  "1000.50 1800.25\n",
		"vmstat":  fmt.Sprintf("nr_free_pages 1000\npgpgin %d\npgpgout %d\npswpin 0\n", st.pgpgin, st.pgpgout),
		"diskstats": fmt.Sprintf("   8       0 sda 100 0 800 10 200 0 1600 20 0 %d 30 0 0 0 0 0 0\n"+
			"   8       1 sda1 90 0 700 9 190 0 1500 19 0 %d 28 0 0 0 0 0 0\n", st.sdaTicks, st.sdaTicks/2),
		"net/dev": "Inter-|   Receive                                                |  Transmit\n" +
			" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
			"    lo:    1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0\n" +
			"  eth0:    3000      30    0    0    0     0          0         0     4000      40    0    0    0     0       0          0\n",
		"net/sockstat": "sockets: used 93\nTCP: inuse 5 orphan 0 tw 82 alloc 9 mem 2\nUDP: inuse 1 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n",
		fmt.Sprintf("%d/stat", fakePID): fmt.Sprintf("%d (srs (x) y) S 1 4240 4239 0 -1 4194304 2481 0 8 0 %d %d 0 0 20 0 "+
			"7 0 77664 27717632 4937 18446744073709551615 94786836160512 94786838785237 140725856255648 0 0 0 0 4096 16935 "+
			"0 0 0 17 1 0 0 0 0 0 1 2 3 4 5 6 7 0\n", fakePID, st.utime, st.stime),
		fmt.Sprintf("%d/net/snmp", fakePID): "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n" +
			"Tcp: 1 200 120000 -1 10 20 0 0 2 100 100 0 0 0 0\n",
		"../sys/devices/system/cpu/cpu0/online": "1\n",
		"../sys/devices/system/cpu/cpu1/online": "1\n",
		"../sys/devices/system/cpu/cpu2/online": "0\n",
	}
	for name, content := range files {
		p := filepath.Join(procRoot, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	self := filepath.Join(procRoot, "self")
	if _, err := os.Lstat(self); err != nil {
		require.NoError(t, os.Symlink(fmt.Sprint(fakePID), self))
	}
	return procRoot, sysRoot
}

// fixture makes a Sampler over a fake /proc and a clock the test moves.
func fixture(t *testing.T, st procState) (s *Sampler, dir string, now *time.Time) {
	t.Helper()
	dir = t.TempDir()
	procRoot, sysRoot := writeProc(t, dir, st)
	clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	s = NewWith(Config{ProcRoot: procRoot, SysRoot: sysRoot, Clock: func() time.Time { return clock }})
	s.public = func() map[string]bool { return map[string]bool{"eth0": true} }
	return s, dir, &clock
}

var baseState = procState{utime: 100, stime: 50, cpuUser: 1000, cpuIdle: 5000, pgpgin: 1000, pgpgout: 2000, sdaTicks: 10000}

func TestLatestIsAnEmptySampleBeforeTheFirstUpdate(t *testing.T) {
	s, _, _ := fixture(t, baseState)
	got := s.Latest()
	require.NotNil(t, got)
	assert.True(t, got.At.IsZero())
	assert.False(t, got.OK())
}

func TestUpdateReadsEveryGroupFromProc(t *testing.T) {
	s, _, now := fixture(t, baseState)
	require.NoError(t, s.Update())
	got := s.Latest()

	assert.Equal(t, *now, got.At)
	assert.True(t, got.OK())
	assert.True(t, got.Rusage.OK)
	assert.Positive(t, got.Rusage.Maxrss, "getrusage reports this test process")

	assert.Equal(t, ProcStat{
		OK: true, PID: fakePID, Comm: "(srs (x) y)", State: "S",
		Values: [len(ProcStatFields)]int64{1, 4240, 4239, 0, -1, 4194304, 2481, 0, 8, 0, 100, 50, 0, 0, 20, 0,
			7, 0, 77664, 27717632, 4937, -1, 94786836160512, 94786838785237, 140725856255648, 0, 0, 0, 0, 4096, 16935,
			0, 0, 0, 17, 1, 0, 0, 0, 0, 0},
	}, got.Proc)
	pageKB := uint64(os.Getpagesize() / 1024)
	assert.Equal(t, Self{
		OK: true, PID: fakePID, PPID: 1, Argv: s.argv, Cwd: s.cwd,
		StartedAt: time.Unix(1700000000+776, 640_000_000),
		RSSKB:     4937 * pageKB, MemPercent: float64(4937*pageKB) / 8000000,
	}, got.Self)
	assert.Equal(t, CPU{OK: true, User: 1000, Nice: 20, Sys: 300, Idle: 5000, IOWait: 50, SoftIRQ: 70, Steal: 8}, got.CPU)
	assert.Equal(t, Meminfo{
		OK: true, RAMPercent: 2000000.0 / 8000000, SwapPercent: 0.25,
		MemActive: 3000000, RealInUse: 2000000, NotInUse: 6000000,
		MemTotal: 8000000, MemFree: 5000000, Buffers: 100000, Cached: 900000, SwapTotal: 1000000, SwapFree: 750000,
	}, got.Mem)
	assert.Equal(t, Disk{OK: true}, got.Disk, "rates need a second sample")
	assert.Equal(t, Net{OK: true, RecvBytes: 3000, SendBytes: 4000, RecviBytes: 1000, SendiBytes: 2000}, got.Net)
	assert.Equal(t, Conns{OK: true, Sys: 93, Established: 2, TimeWait: 82, UDP: 1}, got.Conns)
	assert.Equal(t, Host{OK: true, CPUs: 3, CPUsOnline: 2, Uptime: 1000.50, IdleTime: 1800.25, Load1: 0.5, Load5: 0.25, Load15: 0.1}, got.Host)
}

func TestUpdateComputesRatesFromTheGrowthSinceThePreviousSample(t *testing.T) {
	s, dir, now := fixture(t, baseState)
	require.NoError(t, s.Update())

	*now = now.Add(2 * time.Second)
	next := baseState
	next.utime += 150 // with stime: 2 s of CPU in 2 s, one core
	next.stime += 50
	next.cpuUser += 300 // 300 of 400 ticks busy
	next.cpuIdle += 100
	next.pgpgin += 4000
	next.pgpgout += 1000
	next.sdaTicks += 500 // 0.5 s of I/O in 2 s
	writeProc(t, dir, next)
	require.NoError(t, s.Update())
	got := s.Latest()

	assert.InDelta(t, 1.0, got.Self.CPUPercent, 1e-9)
	assert.InDelta(t, 1.0, got.Proc.Percent, 1e-9)
	assert.InDelta(t, 0.75, got.CPU.Percent, 1e-9)
	assert.Equal(t, uint64(2000), got.Disk.ReadKBps)
	assert.Equal(t, uint64(500), got.Disk.WriteKBps)
	assert.InDelta(t, 0.25, got.Disk.BusyPercent, 1e-9)
}

func TestCountersThatGoBackYieldNoRate(t *testing.T) {
	s, dir, now := fixture(t, baseState)
	require.NoError(t, s.Update())
	*now = now.Add(time.Second)
	reset := baseState
	reset.pgpgin, reset.utime = 0, 0
	writeProc(t, dir, reset)
	require.NoError(t, s.Update())
	assert.Zero(t, s.Latest().Disk.ReadKBps)
	assert.Zero(t, s.Latest().Self.CPUPercent)
}

func TestAnUnreadableFileFailsOnlyItsGroup(t *testing.T) {
	s, dir, _ := fixture(t, baseState)
	require.NoError(t, os.Remove(filepath.Join(dir, "proc", "vmstat")))
	err := s.Update()
	require.ErrorContains(t, err, "vmstat")
	got := s.Latest()
	assert.False(t, got.Disk.OK)
	assert.False(t, got.OK())
	assert.True(t, got.Mem.OK && got.CPU.OK && got.Proc.OK && got.Net.OK && got.Conns.OK && got.Host.OK)
}

func TestRunSamplesUntilTheContextEnds(t *testing.T) {
	s, _, _ := fixture(t, baseState)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Hour) }()
	require.Eventually(t, func() bool { return !s.Latest().At.IsZero() }, 10*time.Second, time.Millisecond,
		"Run samples at once, without waiting for the first tick")
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestAMissingProcFailsEveryUpdate(t *testing.T) {
	s := NewWith(Config{ProcRoot: filepath.Join(t.TempDir(), "none")})
	require.Error(t, s.Update())
	assert.False(t, s.Latest().At.IsZero(), "the failed sample is published")
	assert.False(t, s.Latest().OK())
}

func TestTheRunningSystemCanBeSampled(t *testing.T) {
	s := New()
	_ = s.Update() // some groups may be missing in a container; the core ones never are
	got := s.Latest()
	assert.True(t, got.Rusage.OK && got.Mem.OK && got.CPU.OK && got.Proc.OK, "%+v", got)
	assert.Equal(t, os.Getpid(), got.Self.PID)
	assert.Equal(t, os.Getppid(), got.Self.PPID)
	assert.Positive(t, got.Mem.MemTotal)
	assert.Positive(t, got.Self.RSSKB)
	assert.WithinDuration(t, time.Now(), got.Self.StartedAt, time.Hour)
}
