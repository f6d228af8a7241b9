package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestDenials(t *testing.T) {
	d := denials{max: 8}
	now := time.Now()
	d.store("k", 10, time.Minute, now.Add(time.Second), now)
	if got, ok := d.lookup("k", 10, time.Minute, now); !ok || got.Allowed || got.RetryAfter != time.Second {
		t.Errorf("cached refusal: %+v %v", got, ok)
	}
	if _, ok := d.lookup("k", 20, time.Minute, now); ok {
		t.Error("refusal applied to another limit")
	}
	if _, ok := d.lookup("k", 10, time.Minute, now.Add(time.Second)); ok {
		t.Error("refusal outlived its moment")
	}
	for i := range 100 {
		d.store(strconv.Itoa(i), 10, time.Minute, now.Add(time.Hour), now)
	}
	if len(d.m) > 8 {
		t.Errorf("%d cached refusals, max 8", len(d.m))
	}
}

func TestFallbackIsBounded(t *testing.T) {
	f := fallback{max: 16}
	now := time.Now()
	for i, want := range []bool{true, true, false} {
		if d := f.admit("k", 2, time.Minute, now); d.Allowed != want {
			t.Errorf("request %d: %+v", i+1, d)
		}
	}
	for i := range 1000 {
		f.admit(strconv.Itoa(i), 2, time.Minute, now)
	}
	if len(f.m) > 16 {
		t.Errorf("%d fallback ledgers, max 16", len(f.m))
	}
	f.clear()
	if len(f.m) != 0 {
		t.Error("clear kept ledgers")
	}
}

func TestKeyLocks(t *testing.T) {
	var kl keyLocks
	unlock, err := kl.lock(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := kl.lock(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second holder: %v", err)
	}
	other, err := kl.lock(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	other()
	unlock()
	if len(kl.m) != 0 {
		t.Errorf("locks left behind: %v", kl.m)
	}
}
