package ratelimit

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestLedgerExactCount(t *testing.T) {
	var l ledger
	now := int64(1_700_000_000_000)
	for i := range 10 {
		next, d := l.admit(now+int64(i), 10, time.Minute)
		if !d.Allowed || d.Remaining != 9-i {
			t.Fatalf("request %d: %+v", i+1, d)
		}
		l = next
	}
	next, d := l.admit(now+20, 10, time.Minute)
	if d.Allowed || next != nil {
		t.Fatalf("11th: %+v, ledger %v", d, next)
	}
	// The first request (at now) leaves the window at now+60 s.
	if d.RetryAfter != time.Minute-20*time.Millisecond || !d.Reset.Equal(time.UnixMilli(now+60_000)) {
		t.Errorf("11th: retry after %s, reset %s", d.RetryAfter, d.Reset)
	}
	// One millisecond before that it is still counted; at that instant it is not.
	if _, d := l.admit(now+59_999, 10, time.Minute); d.Allowed {
		t.Error("admitted before the oldest request left the window")
	}
	if _, d := l.admit(now+60_000, 10, time.Minute); !d.Allowed || d.Remaining != 0 {
		t.Errorf("at the oldest's expiry: %+v", d)
	}
}

// TestLedgerBound drives random traffic, bursts at window edges included, and checks the
// promise: no interval of one window holds more than limit admitted requests.
func TestLedgerBound(t *testing.T) {
	for _, tc := range []struct {
		limit  int
		window time.Duration
	}{{10, time.Minute}, {3, time.Second}, {100, time.Minute}, {1000, 10 * time.Second}} {
		rng := rand.New(rand.NewPCG(uint64(tc.limit), 7))
		w := tc.window.Milliseconds()
		var l ledger
		var admitted []int64
		now := int64(1_000_000)
		for range 20_000 {
			switch rng.IntN(4) {
			case 0: // a burst right at the next multiple of the window
				now = (now/w+1)*w - 1
			case 1:
				now += rng.Int64N(w / 4)
			default:
				now += rng.Int64N(3)
			}
			next, d := l.admit(now, tc.limit, tc.window)
			if d.Allowed {
				l = next
				admitted = append(admitted, now)
			} else if d.RetryAfter <= 0 || d.RetryAfter > tc.window+time.Duration(slotWidth(tc.limit, tc.window))*time.Millisecond {
				t.Fatalf("limit %d: retry after %s", tc.limit, d.RetryAfter)
			}
			if len(l) > maxSlots+1 {
				t.Fatalf("limit %d: ledger has %d slots", tc.limit, len(l))
			}
		}
		for i := range admitted {
			j, _ := slices.BinarySearch(admitted, admitted[i]+w) // first at or after the window's end
			if n := j - i; n > tc.limit {
				t.Fatalf("limit %d per %s: %d admitted in [%d, %d)", tc.limit, tc.window, n, admitted[i], admitted[i]+w)
			}
		}
		if len(admitted) < tc.limit {
			t.Errorf("limit %d: only %d admitted", tc.limit, len(admitted))
		}
	}
}

func TestLedgerGroupsAboveMaxSlots(t *testing.T) {
	var l ledger
	for i := range 5000 {
		next, d := l.admit(int64(1_000_000+i), 5000, time.Minute)
		if !d.Allowed {
			t.Fatalf("request %d refused", i)
		}
		l = next
	}
	if len(l) > 30 { // 5 s of traffic in 234 ms slots
		t.Errorf("%d slots for 5,000 requests over 5 s", len(l))
	}
	if b := l.encode(); len(b) > 200 {
		t.Errorf("encoded to %d bytes", len(b))
	}
}

func TestLedgerEncoding(t *testing.T) {
	l := ledger{{at: 1_700_000_000_000, n: 1}, {at: 1_700_000_000_000 + 5, n: 3}, {at: 1_700_000_059_999, n: 300}}
	got, err := decodeLedger(l.encode())
	if err != nil || !slices.Equal(got, l) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	if got, err := decodeLedger(ledger(nil).encode()); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {}, {2}, {1, 0x80}, {1, 5}, {1, 5, 0}, {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1}} {
		if _, err := decodeLedger(bad); err == nil {
			t.Errorf("decoded %x", bad)
		}
	}
}

func FuzzDecodeLedger(f *testing.F) {
	f.Add(ledger{{at: 1_700_000_000_000, n: 2}, {at: 1_700_000_000_010, n: 1}}.encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeLedger(b)
		if err != nil {
			return
		}
		for i, s := range l {
			if s.n < 1 || s.at < 0 || i > 0 && s.at < l[i-1].at {
				t.Fatalf("decoded an invalid ledger %v", l)
			}
		}
		l.admit(1_700_000_000_000, 10, time.Minute) // must not panic
	})
}
