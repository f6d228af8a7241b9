package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Most end-to-end tests share two stacks started once for the package: one with two
// instances (sharedStack) and one with a single instance (sharedOne, for what one process
// holds, such as the dev outbox the dashboard's mailbox shows). Each test gets its own
// accounts and environments on them, so tests do not see each other's clients, users or
// settings. Starting a private stack costs about three seconds of CPU (two processes, four
// CLI commands, RSA keys); the package is CPU-bound, so sharing is what makes it fast.
// Tests that stop, restart or reconfigure processes, or read all they log, keep a private
// stack (startStack, startOne).

// sharedStack is the test's own environments on the package's two-instance stack.
func sharedStack(t *testing.T) *stack { return onShared(t, 2) }

// sharedOne is the test's own environments on the package's one-instance stack (s.b is s.a).
func sharedOne(t *testing.T) *stack { return onShared(t, 1) }

var shared struct {
	mu    sync.Mutex
	life  lifetime
	bases map[int]*stack
	errs  map[int]error
	seq   atomic.Int64
}

func onShared(t *testing.T, n int) *stack {
	t.Helper()
	base := sharedBase(t, n)
	a := *base.a
	a.t = t
	b := &a
	if n > 1 {
		bb := *base.b
		bb.t = t
		b = &bb
	}
	k := shared.seq.Add(1)
	s := &stack{a: &a, b: b, cliEnv: base.cliEnv, natsURL: base.natsURL, dbURL: base.dbURL, seq: k,
		acme: fmt.Sprintf("acme-%d", k), other: fmt.Sprintf("other-%d", k),
		account: fmt.Sprintf("acme%d", k), otherAccount: fmt.Sprintf("other%d", k)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the shared servers logged about %s and %s:\n%s", s.acme, s.other, s.logLines())
		}
	})
	s.populate(t)
	return s
}

// logLines are the lines the stack's processes logged that name the test's environments.
func (s *stack) logLines() string {
	var out []string
	for _, inst := range uniqueInstances(s.a, s.b) {
		for _, line := range strings.Split(inst.output(), "\n") {
			if strings.Contains(line, "="+s.acme) || strings.Contains(line, "="+s.other) ||
				strings.Contains(line, "level=ERROR") {
				out = append(out, fmt.Sprintf("[%d] %s", inst.port, line))
			}
		}
	}
	return strings.Join(out, "\n")
}

func uniqueInstances(a, b *instance) []*instance {
	if a.port == b.port {
		return []*instance{a}
	}
	return []*instance{a, b}
}

// sharedBase starts the package's stack of n instances on first use.
func sharedBase(t *testing.T, n int) *stack {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.bases == nil {
		shared.bases, shared.errs = map[int]*stack{}, map[int]error{}
	}
	if err := shared.errs[n]; err != nil {
		t.Fatalf("the shared stack of %d instances did not start: %v", n, err)
	}
	if b := shared.bases[n]; b != nil {
		return b
	}
	b, err := startShared(n)
	if err != nil {
		shared.errs[n] = err
		t.Fatalf("the shared stack of %d instances did not start: %v", n, err)
	}
	shared.bases[n] = b
	return b
}

func startShared(n int) (s *stack, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(setupFailure)
			if !ok {
				panic(r)
			}
			err = errors.New(string(f))
		}
	}()
	return launch(&shared.life, n), nil
}

// stopShared stops the shared stacks after the package's tests (TestMain).
func stopShared() {
	for _, b := range shared.bases {
		for _, inst := range uniqueInstances(b.a, b.b) {
			if strings.Contains(inst.output(), "panic:") {
				fmt.Fprintf(os.Stderr, "a shared server panicked:\n%s\n", inst.output())
			}
		}
	}
	shared.life.end()
}

// lifetime is the testing.TB of what outlives one test: its cleanups run when the package's
// tests are done, and a failure while setting up is a panic onShared turns into the test's
// failure. Only the methods below are called (the embedded TB is nil).
type lifetime struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

type setupFailure string

func (l *lifetime) Helper()      {}
func (l *lifetime) Name() string { return "SharedStack" }
func (l *lifetime) Failed() bool { return false }
func (l *lifetime) Log(...any)   {} // the shared NATS server's warnings
func (l *lifetime) Logf(string, ...any) {
}
func (l *lifetime) Fatal(args ...any) { panic(setupFailure(fmt.Sprint(args...))) }
func (l *lifetime) Fatalf(format string, args ...any) {
	panic(setupFailure(fmt.Sprintf(format, args...)))
}
func (l *lifetime) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "shared stack: "+format+"\n", args...)
}
func (l *lifetime) Context() context.Context { return context.Background() }

func (l *lifetime) Cleanup(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cleanups = append(l.cleanups, f)
}

func (l *lifetime) TempDir() string {
	dir, err := os.MkdirTemp("", "paylent-shared-*")
	if err != nil {
		l.Fatal(err)
	}
	l.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// end runs the cleanups, last first.
func (l *lifetime) end() {
	l.mu.Lock()
	fs := l.cleanups
	l.cleanups = nil
	l.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
