package main

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data as PostgreSQL's default wal_sync_method on Linux does.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
