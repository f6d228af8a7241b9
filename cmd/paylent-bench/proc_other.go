//go:build !linux

package main

import "syscall"

// childAttr puts a child in its own process group.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// cpuSeconds is not measured here (0: the rows say "—").
func cpuSeconds() float64 { return 0 }
