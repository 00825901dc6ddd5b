// Package nodestats samples the host's and this process's figures on a
// ticker, so that whoever reports them reads a cached value and never
// touches /proc on a hot path.
package nodestats

import (
	"context"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// Stats are one sample.
type Stats struct {
	At             time.Time
	CPUPercent     float64 // host, fraction: 1.0 = one core busy
	CPUs           int
	MemTotalKB     uint64
	MemUsedKB      uint64
	Load1          float64
	Load5          float64
	Load15         float64
	ProcCPUPercent float64 // this process, fraction of one core
	ProcRSSKB      uint64
	ProcGoroutines int
	ProcThreads    int
	ProcFDs        int
	Uptime         time.Duration
}

// Sampler keeps the latest Stats.
type Sampler struct {
	started time.Time
	proc    *process.Process

	mu     sync.Mutex
	latest Stats
	// previous CPU times, for rates between two samples
	lastAt                  time.Time
	lastHostBusy, lastHostT float64
	lastProcCPU             float64
}

// New makes a sampler and takes a first sample.
func New() *Sampler {
	s := &Sampler{started: time.Now()}
	s.proc, _ = process.NewProcess(int32(os.Getpid())) // own process: cannot fail on Linux
	s.sample()
	return s
}

// Run samples every interval until ctx ends.
func (s *Sampler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample()
		}
	}
}

// Latest returns the most recent sample.
func (s *Sampler) Latest() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

func (s *Sampler) sample() {
	now := time.Now()
	st := Stats{At: now, CPUs: runtime.NumCPU(), ProcGoroutines: runtime.NumGoroutine(), Uptime: now.Sub(s.started)}
	if vm, err := mem.VirtualMemory(); err == nil {
		st.MemTotalKB, st.MemUsedKB = vm.Total/1024, vm.Used/1024
	}
	if avg, err := load.Avg(); err == nil {
		st.Load1, st.Load5, st.Load15 = avg.Load1, avg.Load5, avg.Load15
	}
	var hostBusy, hostTotal, procCPU float64
	if times, err := cpu.Times(false); err == nil && len(times) == 1 {
		t := times[0]
		hostTotal = t.Total()
		hostBusy = hostTotal - t.Idle - t.Iowait
	}
	if s.proc != nil {
		if t, err := s.proc.Times(); err == nil {
			procCPU = t.User + t.System
		}
		if m, err := s.proc.MemoryInfo(); err == nil {
			st.ProcRSSKB = m.RSS / 1024
		}
		if n, err := s.proc.NumThreads(); err == nil {
			st.ProcThreads = int(n)
		}
		if n, err := s.proc.NumFDs(); err == nil {
			st.ProcFDs = int(n)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastAt.IsZero() {
		if dt := hostTotal - s.lastHostT; dt > 0 {
			// Host times are summed over all cores; scale to "1.0 = one core".
			st.CPUPercent = (hostBusy - s.lastHostBusy) / dt * float64(st.CPUs)
		}
		if wall := now.Sub(s.lastAt).Seconds(); wall > 0 {
			st.ProcCPUPercent = (procCPU - s.lastProcCPU) / wall
		}
	}
	s.lastAt, s.lastHostBusy, s.lastHostT, s.lastProcCPU = now, hostBusy, hostTotal, procCPU
	s.latest = st
}
