// Package sysstats samples this process and its host from /proc on a
// ticker and keeps the latest figures, so that the HTTP API answers
// /api/v1/summaries and its siblings without touching /proc per request
// (architecture §4). The figures and their units are SRS's
// (srs_app_utility.cpp), described in srs-http-api.md §6.5–§6.9.
package sysstats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
	"github.com/prometheus/procfs/blockdevice"
)

// userHZ is the unit of the kernel's tick counts in /proc (USER_HZ), which
// is 100 on every Linux ABI Go supports.
const userHZ = 100

// Config says where to read from. The zero value reads the running system.
type Config struct {
	ProcRoot string // procfs mount point; "/proc" when empty
	SysRoot  string // sysfs mount point, for the processor count; "/sys" when empty
	Logger   *slog.Logger
	Clock    func() time.Time // time.Now when nil
}

// Sampler keeps the latest Sample. Latest is safe for any number of
// readers; Update is meant to be called by Run's goroutine alone (it
// serialises concurrent callers).
type Sampler struct {
	proc     procfs.FS
	disks    blockdevice.FS
	procRoot string
	sysRoot  string
	log      *slog.Logger
	clock    func() time.Time
	public   func() map[string]bool // the names of the interfaces facing the internet
	argv     string
	cwd      string
	pageKB   uint64
	mountErr error // from opening the mount points; fails every Update

	latest atomic.Pointer[Sample]

	mu      sync.Mutex // serialises Update and guards the fields below
	prev    counters
	lastErr string
}

// counters are the cumulative values of the previous Update that rates are
// computed from. A group's values count only when it was read (its flag).
type counters struct {
	at              time.Time
	self, cpu, disk bool
	selfTicks       uint64
	cpuTotal        uint64
	cpuIdle         uint64
	pgpgin, pgpgout uint64
	ioTicks         map[string]uint64 // per block device, in ms
}

// New makes a Sampler of the running system, logging nowhere.
func New() *Sampler { return NewWith(Config{}) }

// NewWith makes a Sampler as cfg says. Its first Sample has zero time and
// OK false until Update or Run has sampled once. A mount point that cannot
// be used fails every Update rather than this call: the API then reports
// ok false, as SRS does when a file cannot be read.
func NewWith(cfg Config) *Sampler {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = procfs.DefaultMountPoint
	}
	if cfg.SysRoot == "" {
		cfg.SysRoot = "/sys"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	proc, err := procfs.NewFS(cfg.ProcRoot)
	disks, derr := blockdevice.NewFS(cfg.ProcRoot, cfg.SysRoot)
	cwd, _ := os.Getwd() // reported as "" when the directory is gone
	s := &Sampler{
		proc: proc, disks: disks, procRoot: cfg.ProcRoot, sysRoot: cfg.SysRoot,
		log: cfg.Logger.With("component", "sysstats"), clock: cfg.Clock, public: publicInterfaces,
		argv: strings.Join(os.Args, " "), cwd: cwd, pageKB: uint64(os.Getpagesize()) / 1024,
		mountErr: errors.Join(err, derr),
	}
	s.latest.Store(&Sample{})
	return s
}

// Latest returns the most recent Sample; it is never nil.
func (s *Sampler) Latest() *Sample { return s.latest.Load() }

// Run samples at once and then every interval until ctx is done. Failures
// are logged when they change; the figures that could be read are still
// published.
func (s *Sampler) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.logChange(s.Update())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Sampler) logChange(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	s.mu.Lock()
	changed := msg != s.lastErr
	s.lastErr = msg
	s.mu.Unlock()
	switch {
	case changed && err != nil:
		s.log.Warn("sampling failed", "err", err)
	case changed:
		s.log.Info("sampling recovered")
	}
}

// Update takes one sample and publishes it. The error joins the failures
// of the groups that could not be read.
func (s *Sampler) Update() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if s.mountErr != nil {
		s.latest.Store(&Sample{At: now})
		return fmt.Errorf("sysstats: %w", s.mountErr)
	}
	smp := &Sample{At: now}
	next := counters{at: now}
	var errs []error
	record := func(ok *bool, err error) {
		*ok = err == nil
		if err != nil {
			errs = append(errs, err)
		}
	}
	record(&smp.Rusage.OK, syscall.Getrusage(syscall.RUSAGE_SELF, &smp.Rusage.Rusage))
	record(&smp.Mem.OK, s.readMem(&smp.Mem))
	stat, err := s.proc.Stat()
	record(&smp.CPU.OK, err)
	if err == nil {
		s.readCPU(&smp.CPU, stat.CPUTotal, &next)
	}
	record(&smp.Proc.OK, s.readProc(smp, stat.BootTime, &next))
	smp.Self.OK = smp.Proc.OK && smp.CPU.OK
	record(&smp.Host.OK, s.readHost(&smp.Host, len(stat.CPU)))
	record(&smp.Disk.OK, s.readDisk(&smp.Disk, &next))
	record(&smp.Net.OK, s.readNet(&smp.Net))
	record(&smp.Conns.OK, s.readConns(&smp.Conns))
	s.prev = next
	s.latest.Store(smp)
	return errors.Join(errs...)
}

// elapsed is the time since the previous sample in seconds when that
// sample read the group (had is its flag), or 0: no rate can be computed.
func (s *Sampler) elapsed(had bool, now time.Time) float64 {
	if !had || !now.After(s.prev.at) {
		return 0
	}
	return now.Sub(s.prev.at).Seconds()
}

// growth is how much a cumulative counter grew; a counter that went back
// (a reset) grew by nothing.
func growth(now, then uint64) uint64 {
	if now < then {
		return 0
	}
	return now - then
}

func ratio(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return part / whole
}

func (s *Sampler) readMem(m *Meminfo) error {
	mi, err := s.proc.Meminfo()
	if err != nil {
		return fmt.Errorf("meminfo: %w", err)
	}
	if mi.MemTotal == nil || mi.MemFree == nil {
		return errors.New("meminfo: no MemTotal or MemFree")
	}
	val := func(p *uint64) uint64 {
		if p == nil {
			return 0
		}
		return *p
	}
	m.MemTotal, m.MemFree, m.Buffers, m.Cached = *mi.MemTotal, *mi.MemFree, val(mi.Buffers), val(mi.Cached)
	m.SwapTotal, m.SwapFree = val(mi.SwapTotal), val(mi.SwapFree)
	m.MemActive = growth(m.MemTotal, m.MemFree)
	m.RealInUse = growth(m.MemActive, m.Buffers+m.Cached)
	m.NotInUse = m.MemTotal - m.RealInUse
	m.RAMPercent = ratio(float64(m.RealInUse), float64(m.MemTotal))
	m.SwapPercent = ratio(float64(growth(m.SwapTotal, m.SwapFree)), float64(m.SwapTotal))
	return nil
}

// readCPU converts procfs's seconds back into the jiffies SRS reports.
func (s *Sampler) readCPU(c *CPU, t procfs.CPUStat, next *counters) {
	j := func(seconds float64) uint64 { return uint64(math.Round(seconds * userHZ)) }
	c.User, c.Nice, c.Sys, c.Idle, c.IOWait = j(t.User), j(t.Nice), j(t.System), j(t.Idle), j(t.Iowait)
	c.IRQ, c.SoftIRQ, c.Steal, c.Guest = j(t.IRQ), j(t.SoftIRQ), j(t.Steal), j(t.Guest)
	next.cpuTotal = c.User + c.Nice + c.Sys + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
	next.cpuIdle = c.Idle
	next.cpu = true
	if total := growth(next.cpuTotal, s.prev.cpuTotal); s.prev.cpu && total > 0 {
		c.Percent = 1 - float64(growth(next.cpuIdle, s.prev.cpuIdle))/float64(total)
	}
}

// readProc reads /proc/self/stat into Proc and the Self figures derived
// from it.
func (s *Sampler) readProc(smp *Sample, bootTime uint64, next *counters) error {
	data, err := os.ReadFile(filepath.Join(s.procRoot, "self", "stat"))
	if err != nil {
		return fmt.Errorf("self stat: %w", err)
	}
	st, err := parseProcStat(data)
	if err != nil {
		return err
	}
	ticks := uint64(st.Values[statUtime]) + uint64(st.Values[statStime])
	next.selfTicks, next.self = ticks, true
	if dt := s.elapsed(s.prev.self, next.at); dt > 0 {
		st.Percent = float64(growth(ticks, s.prev.selfTicks)) / userHZ / dt
	}
	st.OK = true
	smp.Proc = st
	rssKB := uint64(st.Values[statRSS]) * s.pageKB
	started := time.Duration(st.Values[statStarttime]) * time.Second / userHZ
	smp.Self = Self{
		PID: int(st.PID), PPID: int(st.Values[statPPID]), Argv: s.argv, Cwd: s.cwd,
		StartedAt:  time.Unix(int64(bootTime), 0).Add(started),
		CPUPercent: st.Percent, RSSKB: rssKB, MemPercent: ratio(float64(rssKB), float64(smp.Mem.MemTotal)),
	}
	return nil
}

func (s *Sampler) readHost(h *Host, online int) error {
	data, err := os.ReadFile(filepath.Join(s.procRoot, "uptime"))
	if err != nil {
		return fmt.Errorf("uptime: %w", err)
	}
	if h.Uptime, h.IdleTime, err = parseUptime(data); err != nil {
		return err
	}
	load, err := s.proc.LoadAvg()
	if err != nil {
		return fmt.Errorf("loadavg: %w", err)
	}
	h.Load1, h.Load5, h.Load15 = load.Load1, load.Load5, load.Load15
	// Like sysconf(_SC_NPROCESSORS_CONF): the processors sysfs knows of,
	// online or not.
	present, _ := filepath.Glob(filepath.Join(s.sysRoot, "devices/system/cpu/cpu[0-9]*"))
	h.CPUsOnline, h.CPUs = online, max(len(present), online)
	return nil
}

func (s *Sampler) readDisk(d *Disk, next *counters) error {
	data, err := os.ReadFile(filepath.Join(s.procRoot, "vmstat"))
	if err != nil {
		return fmt.Errorf("vmstat: %w", err)
	}
	if next.pgpgin, next.pgpgout, err = parseVMStat(data); err != nil {
		return err
	}
	stats, err := s.disks.ProcDiskstats()
	if err != nil {
		return fmt.Errorf("diskstats: %w", err)
	}
	next.ioTicks = make(map[string]uint64, len(stats))
	for _, st := range stats {
		next.ioTicks[st.DeviceName] = st.IOsTotalTicks
	}
	next.disk = true
	dt := s.elapsed(s.prev.disk, next.at)
	if dt == 0 {
		return nil
	}
	d.ReadKBps = uint64(float64(growth(next.pgpgin, s.prev.pgpgin)) / dt)
	d.WriteKBps = uint64(float64(growth(next.pgpgout, s.prev.pgpgout)) / dt)
	// The busiest device rather than a sum: partitions repeat their
	// disk's time, so a sum would count it twice.
	for dev, ticks := range next.ioTicks {
		if then, ok := s.prev.ioTicks[dev]; ok {
			d.BusyPercent = max(d.BusyPercent, min(1, float64(growth(ticks, then))/1000/dt))
		}
	}
	return nil
}

func (s *Sampler) readNet(n *Net) error {
	devs, err := s.proc.NetDev()
	if err != nil {
		return fmt.Errorf("net dev: %w", err)
	}
	public := s.public()
	for name, d := range devs {
		if public[name] {
			n.RecvBytes += d.RxBytes
			n.SendBytes += d.TxBytes
		} else {
			n.RecviBytes += d.RxBytes
			n.SendiBytes += d.TxBytes
		}
	}
	return nil
}

func (s *Sampler) readConns(c *Conns) error {
	ss, err := s.proc.NetSockstat()
	if err != nil {
		return fmt.Errorf("sockstat: %w", err)
	}
	if ss.Used != nil {
		c.Sys = *ss.Used
	}
	for _, p := range ss.Protocols {
		switch p.Protocol {
		case "TCP":
			if p.TW != nil {
				c.TimeWait = *p.TW
			}
		case "UDP":
			c.UDP = p.InUse
		}
	}
	self, err := s.proc.Self()
	if err != nil {
		return fmt.Errorf("snmp: %w", err)
	}
	snmp, err := self.Snmp()
	if err != nil {
		return fmt.Errorf("snmp: %w", err)
	}
	if snmp.Tcp.CurrEstab != nil {
		c.Established = int(*snmp.Tcp.CurrEstab)
	}
	return nil
}

// publicInterfaces names the interfaces with an address outside
// loopback, link-local and private ranges.
func publicInterfaces() map[string]bool {
	public := map[string]bool{}
	ifaces, err := net.Interfaces()
	if err != nil {
		return public
	}
	for _, ifi := range ifaces {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() && !ipn.IP.IsPrivate() {
				public[ifi.Name] = true
			}
		}
	}
	return public
}
