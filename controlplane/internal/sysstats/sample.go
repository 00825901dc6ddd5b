package sysstats

import (
	"syscall"
	"time"
)

// Sample is the set of figures taken at one instant. A Sample is never
// changed once published, so readers share it without locks.
//
// Percentages are fractions, as SRS reports them: 1.00 is one core for a
// process, all cores for the host, all of the memory for memory.
// Rates need two samples; in the first one they are zero.
//
// Each group has its own OK flag: a group whose source could not be read
// keeps zero values and OK false, and the others are still reported.
type Sample struct {
	At     time.Time // zero until the first sample
	Self   Self
	Rusage Rusage
	Proc   ProcStat
	CPU    CPU
	Mem    Meminfo
	Disk   Disk
	Net    Net
	Conns  Conns
	Host   Host
}

// OK reports whether every group was read.
func (s *Sample) OK() bool {
	return s.Self.OK && s.Rusage.OK && s.Proc.OK && s.CPU.OK && s.Mem.OK &&
		s.Disk.OK && s.Net.OK && s.Conns.OK && s.Host.OK
}

// Self is this process, as SRS's summaries show it.
type Self struct {
	OK         bool
	PID, PPID  int
	Argv       string // arguments joined by single spaces
	Cwd        string
	StartedAt  time.Time
	CPUPercent float64 // fraction, 1.00 = one core
	RSSKB      uint64
	MemPercent float64 // RSS over the host's MemTotal
}

// Rusage is getrusage(RUSAGE_SELF).
type Rusage struct {
	OK bool
	syscall.Rusage
}

// ProcStatFields names the numeric fields of /proc/[pid]/stat that follow
// pid, comm and state, in file order (proc(5)), up to cguest_time: the
// fields SRS's /api/v1/self_proc_stats reports, with its names.
var ProcStatFields = [...]string{
	"ppid", "pgrp", "session", "tty_nr", "tpgid", "flags", "minflt", "cminflt",
	"majflt", "cmajflt", "utime", "stime", "cutime", "cstime", "priority", "nice",
	"num_threads", "itrealvalue", "starttime", "vsize", "rss", "rsslim", "startcode",
	"endcode", "startstack", "kstkesp", "kstkeip", "signal", "blocked", "sigignore",
	"sigcatch", "wchan", "nswap", "cnswap", "exit_signal", "processor", "rt_priority",
	"policy", "delayacct_blkio_ticks", "guest_time", "cguest_time",
}

// Indexes into ProcStat.Values of the fields the sampler itself uses.
const (
	statPPID      = 0
	statUtime     = 10
	statStime     = 11
	statStarttime = 18
	statRSS       = 20
)

// ProcStat is /proc/self/stat.
type ProcStat struct {
	OK      bool
	Percent float64 // CPU, fraction, 1.00 = one core
	PID     int64
	Comm    string // with its parentheses, as SRS shows it: "(srs)"
	State   string
	// Values follow ProcStatFields. Unsigned kernel values above the
	// int64 range wrap, as in SRS (an unlimited rsslim reads -1).
	Values [len(ProcStatFields)]int64
}

// CPU is the host's cpu line of /proc/stat, in jiffies.
type CPU struct {
	OK                                 bool
	Percent                            float64 // busy, fraction of all cores
	User, Nice, Sys, Idle, IOWait, IRQ uint64
	SoftIRQ, Steal, Guest              uint64
}

// Meminfo is /proc/meminfo in kB, with SRS's derived figures: MemActive =
// MemTotal-MemFree, RealInUse = MemActive-Buffers-Cached, NotInUse =
// MemTotal-RealInUse.
type Meminfo struct {
	OK                             bool
	RAMPercent, SwapPercent        float64
	MemActive, RealInUse, NotInUse uint64
	MemTotal, MemFree, Buffers     uint64
	Cached, SwapTotal, SwapFree    uint64
}

// Disk is the host's disk activity between the last two samples.
type Disk struct {
	OK                  bool
	ReadKBps, WriteKBps uint64  // from /proc/vmstat pgpgin/pgpgout
	BusyPercent         float64 // busiest device's time doing I/O, fraction
}

// Net sums the host's interface counters: public interfaces (with a
// global, non-private address) and internal ones (loopback and private
// networks), as SRS splits them.
type Net struct {
	OK                     bool
	RecvBytes, SendBytes   uint64
	RecviBytes, SendiBytes uint64
}

// Conns counts the host's sockets (/proc/net/sockstat and snmp).
type Conns struct {
	OK          bool
	Sys         int // sockets in use, any family
	Established int // TCP
	TimeWait    int // TCP
	UDP         int
}

// Host is the host's processors, uptime and load.
type Host struct {
	OK                   bool
	CPUs, CPUsOnline     int
	Uptime, IdleTime     float64 // seconds, from /proc/uptime
	Load1, Load5, Load15 float64
}
