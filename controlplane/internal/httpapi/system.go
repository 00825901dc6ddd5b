package httpapi

import (
	"time"

	"tidecast.dev/controlplane/internal/fleet"
	"tidecast.dev/controlplane/internal/sysstats"
)

// summary is /api/v1/summaries' data (§6.5), filled either from this
// process's samples or from a worker's report, and encoded once.
type summary struct {
	ok         bool
	now        time.Time
	version    string
	pid, ppid  int
	argv, cwd  string
	memKB      uint64
	memPercent float64
	cpuPercent float64
	uptime     time.Duration

	sysCPUPercent           float64 // fraction of all cores
	diskReadKBps, diskWrite uint64
	diskBusy                float64
	ramKB                   uint64
	ramPercent              float64
	swapKB                  uint64
	swapPercent             float64
	cpus, cpusOnline        int
	sysUptime, idleTime     float64
	load1, load5, load15    float64
	netAt                   time.Time
	netRecv, netSend        uint64
	netRecvi, netSendi      uint64
	srsAt                   time.Time
	srsRecv, srsSend        uint64
	conns, connsEstablished int
	connsTimeWait, connsUDP int
	connsSRS                int
}

// summaries is /api/v1/summaries (§6.5): this control-plane replica's
// process and host, with the srs_* and conn_srs figures of the whole
// fleet (its traffic and clients).
//
// Extension: ?node=<worker id> answers the same shape for that worker,
// from its last report: self is the worker process, system its host, and
// srs_*/conn_srs its own traffic and clients. Figures a worker does not
// report (argv, cwd, ppid, disk, network, sockets, host uptime) read zero.
// An unknown node answers 1012 (see errWorkerNotFound).
func (a *API) summaries(x *exchange) {
	v := a.view()
	var s summary
	if node := x.query.get("node"); node != "" {
		w, ok := findWorker(v, node)
		if !ok {
			a.fail(x, errWorkerNotFound)
			return
		}
		s = workerSummary(w, a.clock())
	} else {
		s = a.selfSummary(v)
	}
	a.respond(x, func(j *jsonw) { encodeSummary(j, &s) })
}

func (a *API) selfSummary(v *fleet.View) summary {
	smp, now := a.sample(), a.clock()
	total := v.Total()
	return summary{
		ok: smp.OK(), now: now, version: srsVersion,
		pid: smp.Self.PID, ppid: smp.Self.PPID, argv: smp.Self.Argv, cwd: smp.Self.Cwd,
		memKB: uint64(smp.Rusage.Maxrss), memPercent: smp.Self.MemPercent, cpuPercent: smp.Self.CPUPercent,
		uptime: sinceStart(now, smp.Self.StartedAt),

		sysCPUPercent: smp.CPU.Percent,
		diskReadKBps:  smp.Disk.ReadKBps, diskWrite: smp.Disk.WriteKBps, diskBusy: smp.Disk.BusyPercent,
		ramKB: smp.Mem.MemTotal, ramPercent: smp.Mem.RAMPercent, swapKB: smp.Mem.SwapTotal, swapPercent: smp.Mem.SwapPercent,
		cpus: smp.Host.CPUs, cpusOnline: smp.Host.CPUsOnline, sysUptime: smp.Host.Uptime, idleTime: smp.Host.IdleTime,
		load1: smp.Host.Load1, load5: smp.Host.Load5, load15: smp.Host.Load15,
		netAt: smp.At, netRecv: smp.Net.RecvBytes, netSend: smp.Net.SendBytes, netRecvi: smp.Net.RecviBytes, netSendi: smp.Net.SendiBytes,
		srsAt: now, srsRecv: total.RecvBytes, srsSend: total.SendBytes,
		conns: smp.Conns.Sys, connsEstablished: smp.Conns.Established, connsTimeWait: smp.Conns.TimeWait, connsUDP: smp.Conns.UDP,
		connsSRS: len(v.Clients),
	}
}

func workerSummary(w *fleet.Worker, now time.Time) summary {
	stats, tr := w.Stats(), w.Traffic()
	st := &stats
	return summary{
		ok: !st.At.IsZero(), now: now, version: w.Version, pid: w.PID,
		memKB: st.ProcRSSKB, memPercent: ratio(float64(st.ProcRSSKB), float64(st.MemTotalKB)), cpuPercent: st.ProcCPUPercent,
		uptime: st.Uptime,

		sysCPUPercent: ratio(st.CPUPercent, float64(st.CPUs)),
		ramKB:         st.MemTotalKB, ramPercent: ratio(float64(st.MemUsedKB), float64(st.MemTotalKB)),
		cpus: st.CPUs, cpusOnline: st.CPUs, load1: st.Load1, load5: st.Load5, load15: st.Load15,
		srsAt: st.At, srsRecv: tr.RecvBytes, srsSend: tr.SendBytes,
		conns: st.Connections, connsSRS: w.Clients,
	}
}

func encodeSummary(j *jsonw, s *summary) {
	j.obj("data")
	j.bool("ok", s.ok)
	j.int("now_ms", unixMilli(s.now))
	j.obj("self")
	j.str("version", s.version)
	j.int("pid", int64(s.pid))
	j.int("ppid", int64(s.ppid))
	j.str("argv", s.argv)
	j.str("cwd", s.cwd)
	j.uint("mem_kbyte", s.memKB)
	j.float("mem_percent", s.memPercent)
	j.float("cpu_percent", s.cpuPercent)
	j.int("srs_uptime", int64(s.uptime.Seconds()))
	j.end()
	j.obj("system")
	j.float("cpu_percent", s.sysCPUPercent)
	j.uint("disk_read_KBps", s.diskReadKBps)
	j.uint("disk_write_KBps", s.diskWrite)
	j.float("disk_busy_percent", s.diskBusy)
	j.uint("mem_ram_kbyte", s.ramKB)
	j.float("mem_ram_percent", s.ramPercent)
	j.uint("mem_swap_kbyte", s.swapKB)
	j.float("mem_swap_percent", s.swapPercent)
	j.int("cpus", int64(s.cpus))
	j.int("cpus_online", int64(s.cpusOnline))
	j.float("uptime", s.sysUptime)
	j.float("ilde_time", s.idleTime) // sic: SRS's spelling
	j.float("load_1m", s.load1)
	j.float("load_5m", s.load5)
	j.float("load_15m", s.load15)
	j.int("net_sample_time", unixMilli(s.netAt))
	j.uint("net_recv_bytes", s.netRecv)
	j.uint("net_send_bytes", s.netSend)
	j.uint("net_recvi_bytes", s.netRecvi)
	j.uint("net_sendi_bytes", s.netSendi)
	j.int("srs_sample_time", unixMilli(s.srsAt))
	j.uint("srs_recv_bytes", s.srsRecv)
	j.uint("srs_send_bytes", s.srsSend)
	j.int("conn_sys", int64(s.conns))
	j.int("conn_sys_et", int64(s.connsEstablished))
	j.int("conn_sys_tw", int64(s.connsTimeWait))
	j.int("conn_sys_udp", int64(s.connsUDP))
	j.int("conn_srs", int64(s.connsSRS))
	j.end()
	j.end()
}

// rusages is /api/v1/rusages (§6.6); ru_utime and ru_stime in whole
// seconds, as SRS prints them.
func (a *API) rusages(x *exchange) {
	smp := a.sample()
	ru := &smp.Rusage
	a.respond(x, func(j *jsonw) {
		j.obj("data")
		j.bool("ok", ru.OK)
		j.int("sample_time", unixMilli(smp.At))
		j.int("ru_utime", int64(ru.Utime.Sec))
		j.int("ru_stime", int64(ru.Stime.Sec))
		for _, f := range [...]struct {
			name  string
			value int64
		}{
			{"ru_maxrss", int64(ru.Maxrss)}, {"ru_ixrss", int64(ru.Ixrss)}, {"ru_idrss", int64(ru.Idrss)},
			{"ru_isrss", int64(ru.Isrss)}, {"ru_minflt", int64(ru.Minflt)}, {"ru_majflt", int64(ru.Majflt)},
			{"ru_nswap", int64(ru.Nswap)}, {"ru_inblock", int64(ru.Inblock)}, {"ru_oublock", int64(ru.Oublock)},
			{"ru_msgsnd", int64(ru.Msgsnd)}, {"ru_msgrcv", int64(ru.Msgrcv)}, {"ru_nsignals", int64(ru.Nsignals)},
			{"ru_nvcsw", int64(ru.Nvcsw)}, {"ru_nivcsw", int64(ru.Nivcsw)},
		} {
			j.int(f.name, f.value)
		}
		j.end()
	})
}

// selfProcStats is /api/v1/self_proc_stats (§6.7): /proc/self/stat.
func (a *API) selfProcStats(x *exchange) {
	smp := a.sample()
	ps := &smp.Proc
	a.respond(x, func(j *jsonw) {
		j.obj("data")
		j.bool("ok", ps.OK)
		j.int("sample_time", unixMilli(smp.At))
		j.float("percent", ps.Percent)
		j.int("pid", ps.PID)
		j.str("comm", ps.Comm)
		j.str("state", ps.State)
		for i, name := range sysstats.ProcStatFields {
			j.int(name, ps.Values[i])
		}
		j.end()
	})
}

// systemProcStats is /api/v1/system_proc_stats (§6.8): the host's cpu line
// of /proc/stat, in jiffies.
func (a *API) systemProcStats(x *exchange) {
	smp := a.sample()
	c := &smp.CPU
	a.respond(x, func(j *jsonw) {
		j.obj("data")
		j.bool("ok", c.OK)
		j.int("sample_time", unixMilli(smp.At))
		j.float("percent", c.Percent)
		j.uint("user", c.User)
		j.uint("nice", c.Nice)
		j.uint("sys", c.Sys)
		j.uint("idle", c.Idle)
		j.uint("iowait", c.IOWait)
		j.uint("irq", c.IRQ)
		j.uint("softirq", c.SoftIRQ)
		j.uint("steal", c.Steal)
		j.uint("guest", c.Guest)
		j.end()
	})
}

// meminfos is /api/v1/meminfos (§6.9), in kB, with SRS's CamelCase keys.
func (a *API) meminfos(x *exchange) {
	smp := a.sample()
	m := &smp.Mem
	a.respond(x, func(j *jsonw) {
		j.obj("data")
		j.bool("ok", m.OK)
		j.int("sample_time", unixMilli(smp.At))
		j.float("percent_ram", m.RAMPercent)
		j.float("percent_swap", m.SwapPercent)
		j.uint("MemActive", m.MemActive)
		j.uint("RealInUse", m.RealInUse)
		j.uint("NotInUse", m.NotInUse)
		j.uint("MemTotal", m.MemTotal)
		j.uint("MemFree", m.MemFree)
		j.uint("Buffers", m.Buffers)
		j.uint("Cached", m.Cached)
		j.uint("SwapTotal", m.SwapTotal)
		j.uint("SwapFree", m.SwapFree)
		j.end()
	})
}

// unixMilli is t in epoch milliseconds, 0 for the zero time (never
// sampled).
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// sinceStart is the time since start, 0 when start is unknown.
func sinceStart(now, start time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	return now.Sub(start)
}

func ratio(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return part / whole
}
