package user_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/paylent/paylent/domain/user"
)

func TestLoginFailuresLockPerSource(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var f user.LoginFailures
	for i := range user.LockoutAfter {
		f = f.Add("203.0.113.9", t0.Add(time.Duration(i)*time.Second))
	}
	last := t0.Add(time.Duration(user.LockoutAfter-1) * time.Second)
	if got := f.LockedFor("203.0.113.9"); !got.Equal(last.Add(time.Minute)) {
		t.Errorf("the failing source: locked until %v, want a minute after its last failure", got)
	}
	if got := f.LockedFor("198.51.100.4"); !got.IsZero() {
		t.Errorf("another source (the owner): locked until %v, want not locked", got)
	}
	if until, who := f.Locked(); who != "203.0.113.9" || !until.Equal(last.Add(time.Minute)) {
		t.Errorf("Locked() = %v %q", until, who)
	}
	// One more from the same source doubles its lock; the total counts every source.
	f = f.Add("203.0.113.9", last.Add(time.Minute))
	if got := f.LockedFor("203.0.113.9"); !got.Equal(last.Add(3 * time.Minute)) {
		t.Errorf("sixth failure: locked until %v", got)
	}
	if f.Total.Count != user.LockoutAfter+1 {
		t.Errorf("total %d", f.Total.Count)
	}
}

// Guessing spread over many addresses (each under the per-source limit) locks everyone once
// the total reaches GlobalLockoutAfter; the sources kept stay bounded.
func TestLoginFailuresGlobalLockAndBound(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var f user.LoginFailures
	for i := range user.GlobalLockoutAfter - 1 {
		f = f.Add(fmt.Sprintf("10.0.%d.%d", i/4, i%4), t0.Add(time.Duration(i)*time.Millisecond))
		if len(f.BySource) > user.MaxFailureSources {
			t.Fatalf("%d sources kept", len(f.BySource))
		}
	}
	if got := f.LockedFor("192.0.2.1"); !got.IsZero() {
		t.Fatalf("locked for a new source below the global limit: %v", got)
	}
	at := t0.Add(time.Hour)
	f = f.Add("10.9.9.9", at)
	if got := f.LockedFor("192.0.2.1"); !got.Equal(at.Add(time.Minute)) {
		t.Errorf("at the global limit, a new source: locked until %v, want %v", got, at.Add(time.Minute))
	}
	if until, who := f.Locked(); who != "" || !until.Equal(at.Add(time.Minute)) {
		t.Errorf("Locked() = %v %q, want everyone", until, who)
	}
	if _, ok := f.BySource["10.9.9.9"]; !ok {
		t.Error("the latest source was evicted")
	}
}

// Add does not change the failures it is called on (read models hand them out by value).
func TestLoginFailuresAddCopies(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	a := user.LoginFailures{}.Add("192.0.2.1", t0)
	b := a.Add("192.0.2.1", t0.Add(time.Second))
	if a.BySource["192.0.2.1"].Count != 1 || b.BySource["192.0.2.1"].Count != 2 {
		t.Errorf("a %v, b %v", a, b)
	}
}
