package pgcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pidFile is what postgres writes to postmaster.pid while it runs.
type pidFile struct {
	pid    int
	port   int
	status string // "starting", "ready" or "stopping" (empty before PostgreSQL 10)
}

// readPidFile reads dir/postmaster.pid; found is false when there is none.
func readPidFile(dir string) (pf pidFile, found bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return pidFile{}, false, nil
	}
	if err != nil {
		return pidFile{}, false, fmt.Errorf("read postmaster.pid: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	line := func(i int) string {
		if i < len(lines) {
			return strings.TrimSpace(lines[i])
		}
		return ""
	}
	// Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
	pf.pid, _ = strconv.Atoi(line(0))
	pf.port, _ = strconv.Atoi(line(3))
	pf.status = line(7)
	return pf, true, nil
}

// processAlive reports whether pid is a live postgres process. A zombie, or a pid that a
// crashed postmaster left behind and another program now uses, does not count.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	// Format: "pid (comm) state ...".
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open || closing+2 >= len(b) {
		return true
	}
	comm := string(b[open+1 : closing])
	if b[closing+2] == 'Z' {
		return false
	}
	return comm == "postgres" || comm == "postmaster"
}
