package tokens

import (
	"cmp"
	"slices"
	"unique"
)

// expiry is when a kept token, or a jti on the deny-list, may be dropped. The model keeps
// one min-heap of them per kind, so pruning costs what expires (log n each), not a scan
// of every token. An entry may be stale (the token was issued again, or revoked again with
// another expiry): pruning drops an entry only when it still matches.
type expiry struct {
	at  stamp
	env unique.Handle[string]
	jti string
}

type expiries []expiry

func (h *expiries) add(at stamp, env unique.Handle[string], jti string) {
	*h = append(*h, expiry{at: at, env: env, jti: jti})
	q := *h
	for i := len(q) - 1; i > 0; { // sift up
		p := (i - 1) / 2
		if q[p].at <= q[i].at {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

// pop removes the earliest entry.
func (h *expiries) pop() expiry {
	q := *h
	top, n := q[0], len(q)-1
	q[0], q[n] = q[n], expiry{}
	q = q[:n]
	for i := 0; ; { // sift down
		l, least := 2*i+1, i
		if l < n && q[l].at < q[least].at {
			least = l
		}
		if l+1 < n && q[l+1].at < q[least].at {
			least = l + 1
		}
		if least == i {
			break
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
	*h = q
	return top
}

// due pops every entry that expired before t and calls drop with it.
func (h *expiries) due(t stamp, drop func(expiry)) {
	for len(*h) > 0 && (*h)[0].at < t {
		drop(h.pop())
	}
	if cap(*h) > 64 && len(*h) < cap(*h)/4 { // give back what a burst of tokens grew
		*h = append(expiries(nil), *h...)
	}
}

// heapify orders h as a heap (after a restore appended every entry).
func (h expiries) heapify() {
	slices.SortFunc(h, func(a, b expiry) int { return cmp.Compare(a.at, b.at) }) // a sorted slice is a heap
}

// prune drops what expired before t (an event's time less pruneGrace: a rebuild prunes as the live
// model did). Called with s.mu held.
func (s *Store) prune(t stamp) {
	s.tokenExp.due(t, func(x expiry) {
		e := s.envs[x.env.Value()]
		if r, ok := e.tokens[x.jti]; ok && r.expires == x.at {
			delete(e.tokens, x.jti)
			e.dropOdd(x.jti)
		}
	})
	s.revokedExp.due(t, func(x expiry) {
		e := s.envs[x.env.Value()]
		if at, ok := e.revoked[x.jti]; ok && at == x.at {
			delete(e.revoked, x.jti)
		}
	})
}

// dropOdd removes the by_hash entries of a dropped token that its rec did not hold.
func (e *envTokens) dropOdd(jti string) {
	for h, j := range e.odd {
		if j == jti {
			delete(e.odd, h)
		}
	}
}
