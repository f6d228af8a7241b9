package projections

import (
	"strconv"
	"sync/atomic"
)

// Head is the newest committed position this instance knows of, fed by the store's commit
// notifications (every commit announces its last position). Answers that must not be stale
// (introspection after a revocation made on another instance) wait until a projection has
// applied it.
type Head struct{ pos atomic.Int64 }

// Observe records a committed position; older ones are ignored.
func (h *Head) Observe(pos int64) {
	for {
		cur := h.pos.Load()
		if pos <= cur || h.pos.CompareAndSwap(cur, pos) {
			return
		}
	}
}

// ObservePayload records the position in a notification payload; other payloads are ignored.
func (h *Head) ObservePayload(payload string) {
	if pos, err := strconv.ParseInt(payload, 10, 64); err == nil && pos > 0 {
		h.Observe(pos)
	}
}

// Known is the newest position observed.
func (h *Head) Known() int64 { return h.pos.Load() }
