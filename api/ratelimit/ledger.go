package ratelimit

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// maxSlots bounds the entries of a ledger. Up to this limit every admitted request keeps
// its own millisecond; above it, requests are grouped into window/maxSlots wide slots.
const maxSlots = 256

// ledgerVersion is the first byte of an encoded ledger.
const ledgerVersion = 1

// errCorrupt reports a stored value that is not a ledger this code can read.
var errCorrupt = errors.New("ratelimit: stored ledger is corrupt")

// slot counts the requests admitted at one instant (Unix milliseconds). A grouped slot is
// stamped with the last millisecond it covers, so a request never counts as older than it
// is: it stays counted at least as long as it would on its own.
type slot struct {
	at int64
	n  int
}

// ledger is a sliding log of admitted requests, oldest first. A request admitted at t is
// counted in every decision made before t+window, so no interval of length window ever
// holds more than limit admitted requests.
type ledger []slot

// slotWidth is the grouping in milliseconds for a limit and window: 1 (exact) while the
// limit fits in maxSlots, else window/maxSlots.
func slotWidth(limit int, window time.Duration) int64 {
	if limit <= maxSlots {
		return 1
	}
	return max(1, window.Milliseconds()/maxSlots)
}

// admit decides one request at now (Unix ms). It returns the ledger to store when the
// request is admitted; a refused request changes nothing.
func (l ledger) admit(now int64, limit int, window time.Duration) (ledger, Decision) {
	w := window.Milliseconds()
	live := l.live(now, w)
	count := 0
	for _, s := range live {
		count += s.n
	}
	if count >= limit {
		// Quota returns when enough of the oldest requests leave the window.
		at := live[len(live)-1].at
		for freed, i := 0, 0; i < len(live); i++ {
			if freed += live[i].n; count-freed < limit {
				at = live[i].at
				break
			}
		}
		until := time.UnixMilli(at + w)
		return nil, Decision{RetryAfter: time.Duration(at+w-now) * time.Millisecond, Reset: until}
	}
	g := slotWidth(limit, window)
	stamp := (now/g)*g + g - 1
	next := make(ledger, len(live), len(live)+1)
	copy(next, live)
	if n := len(next); n > 0 && next[n-1].at >= stamp {
		next[n-1].n++ // same slot, or a later stamp from an instance whose clock runs ahead
	} else {
		next = append(next, slot{at: stamp, n: 1})
	}
	return next, Decision{
		Allowed:   true,
		Remaining: limit - count - 1,
		Reset:     time.UnixMilli(next[0].at + w),
	}
}

// live returns the slots still inside the window ending at now.
func (l ledger) live(now, window int64) ledger {
	i := 0
	for i < len(l) && l[i].at <= now-window {
		i++
	}
	return l[i:]
}

// encode writes the version byte, then per slot the distance in ms from the previous
// slot (from 0 for the first) and its count, as uvarints.
func (l ledger) encode() []byte {
	b := make([]byte, 1, 1+len(l)*4+8)
	b[0] = ledgerVersion
	prev := int64(0)
	for _, s := range l {
		b = binary.AppendUvarint(b, uint64(s.at-prev))
		b = binary.AppendUvarint(b, uint64(s.n))
		prev = s.at
	}
	return b
}

func decodeLedger(b []byte) (ledger, error) {
	if len(b) == 0 || b[0] != ledgerVersion {
		return nil, errCorrupt
	}
	b = b[1:]
	var l ledger
	prev := int64(0)
	for len(b) > 0 {
		d, k := binary.Uvarint(b)
		if k <= 0 || d > uint64(math.MaxInt64-prev) {
			return nil, errCorrupt
		}
		b = b[k:]
		n, k := binary.Uvarint(b)
		if k <= 0 || n == 0 || n > 1<<31 || len(l) > 4*maxSlots {
			return nil, errCorrupt
		}
		b = b[k:]
		prev += int64(d)
		l = append(l, slot{at: prev, n: int(n)})
	}
	return l, nil
}
