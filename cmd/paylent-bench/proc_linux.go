package main

import "syscall"

// childAttr puts a child in its own process group, and interrupts it (so it shuts down
// cleanly, stopping its PostgreSQL) should this process die without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT}
}
