package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on every Linux port Go supports).
const clockTicks = 100

// cpuUse is CPU time spent during a measurement, in cores (1.0 = one CPU busy throughout),
// from /proc: the process under test (the paylent server with its embedded NATS, or the bare
// fiber app), its PostgreSQL, this process (the load generator), everything else, and idle.
type cpuUse struct {
	Server    float64 `json:"server"`
	Postgres  float64 `json:"postgres"`
	Generator float64 `json:"generator"`
	Other     float64 `json:"other"`
	Idle      float64 `json:"idle"`
}

// cpuProbe samples the CPU time of the processes of a run.
type cpuProbe struct {
	server func() int // pid of the process under test, 0 if none
	pgDir  string     // the private cluster's directory (its postmaster.pid)
}

type cpuSample struct {
	at                    time.Time
	busy, idle            int64 // all CPUs, from /proc/stat
	server, gen           int64
	postgres              map[int]int64
	serverPID, postmaster int
}

func (p *cpuProbe) sample() cpuSample {
	s := cpuSample{at: time.Now(), postgres: map[int]int64{}}
	s.busy, s.idle = systemTicks()
	_, s.gen = procTicks("self")
	if p == nil {
		return s
	}
	if p.server != nil {
		if s.serverPID = p.server(); s.serverPID > 0 {
			_, s.server = procTicks(strconv.Itoa(s.serverPID))
		}
	}
	s.postmaster = postmasterPID(p.pgDir)
	if s.postmaster <= 0 {
		return s
	}
	_, s.postgres[s.postmaster] = procTicks(strconv.Itoa(s.postmaster))
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid := filepath.Base(d)
		if ppid, t := procTicks(pid); ppid == s.postmaster {
			n, _ := strconv.Atoi(pid)
			s.postgres[n] = t
		}
	}
	return s
}

// since is the CPU used from before until now, in cores.
func (p *cpuProbe) since(before cpuSample) cpuUse {
	now := p.sample()
	secs := now.at.Sub(before.at).Seconds()
	if secs <= 0 {
		return cpuUse{}
	}
	cores := func(ticks int64) float64 { return float64(ticks) / clockTicks / secs }
	var u cpuUse
	if now.serverPID == before.serverPID {
		u.Server = cores(now.server - before.server)
	}
	var pg int64
	for pid, t := range now.postgres {
		pg += t - before.postgres[pid] // a backend born during the run started at 0
	}
	u.Postgres = cores(pg)
	u.Generator = cores(now.gen - before.gen)
	u.Idle = cores(now.idle - before.idle)
	u.Other = max(0, cores(now.busy-before.busy)-u.Server-u.Postgres-u.Generator)
	return u
}

// procTicks returns a process's parent and its user+system CPU time in ticks (0, 0 when
// it cannot be read).
func procTicks(pid string) (ppid int, ticks int64) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0
	}
	// pid (comm) state ppid ... utime stime: comm may hold spaces and parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, 0
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ppid, ut + st
}

// systemTicks returns the busy and idle ticks of all CPUs together (/proc/stat's cpu line;
// iowait counts as idle, steal as busy).
func systemTicks() (busy, idle int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 {
			idle += n
		} else {
			busy += n
		}
	}
	return busy, idle
}

// postmasterPID reads the first line of a cluster's postmaster.pid (0 if none).
func postmasterPID(pgDir string) int {
	if pgDir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}
