package tokens

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/paylent/paylent/projections"
)

// The snapshot is the JSON the model wrote before its state was compact (the json.Marshal
// of {"tokens": env → jti → Token, "by_hash": env → hash → jti, "revoked": env → jti →
// expiry}), so checkpoints of either version restore in the other. It is written entry by
// entry; besides the file's buffer, a checkpoint holds the sorted keys of one environment
// (a string header per token, 32 bytes per hash).

// Snapshot implements projections.Projection.
func (s *Store) Snapshot() ([]byte, error) { return projections.SnapshotBytes(s) }

// WriteSnapshot implements projections.Streamer: one token, hash or revocation at a time,
// each under the read lock alone.
func (s *Store) WriteSnapshot(w io.Writer) error {
	e := projections.NewSnapshotEncoder(w, s.mu.RLocker())
	for _, m := range []struct {
		name  string
		has   func(*envTokens) bool
		write func(*projections.SnapshotEncoder, *envTokens) error
	}{
		{"tokens", func(x *envTokens) bool { return x.tokens != nil }, s.writeTokens},
		{"by_hash", func(x *envTokens) bool { return x.hashed }, s.writeHashes},
		{"revoked", func(x *envTokens) bool { return x.revoked != nil }, s.writeRevoked},
	} {
		e.Member(m.name)
		if err := s.writeEnvs(e, m.has, m.write); err != nil {
			return err
		}
	}
	return e.Close()
}

// writeEnvs writes an object of the environments has accepts, in order, each by write.
func (s *Store) writeEnvs(e *projections.SnapshotEncoder, has func(*envTokens) bool, write func(*projections.SnapshotEncoder, *envTokens) error) error {
	s.mu.RLock()
	var names []string
	for name, x := range s.envs {
		if has(x) {
			names = append(names, name)
		}
	}
	s.mu.RUnlock()
	slices.Sort(names)
	e.Raw([]byte{'{'})
	for i, name := range names {
		if i > 0 {
			e.Raw([]byte{','})
		}
		e.Key(name)
		s.mu.RLock()
		x := s.envs[name] // environments are never removed
		s.mu.RUnlock()
		if err := write(e, x); err != nil {
			return err
		}
	}
	e.Raw([]byte{'}'})
	return nil
}

func errVanished(key string) error {
	return fmt.Errorf("snapshot entry %q vanished while it was written", key)
}

func (s *Store) writeTokens(e *projections.SnapshotEncoder, x *envTokens) error {
	s.mu.RLock()
	keys := make([]string, 0, len(x.tokens))
	for jti := range x.tokens {
		keys = append(keys, jti)
	}
	s.mu.RUnlock()
	slices.Sort(keys)
	buf := []byte{'{'}
	for i, jti := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(appendString(buf, jti), ':')
		s.mu.RLock()
		r, ok := x.tokens[jti]
		if ok {
			buf = appendToken(buf, jti, r)
		}
		s.mu.RUnlock()
		if !ok { // only Apply deletes, and it does not run during a snapshot
			return errVanished(jti)
		}
		buf = flush(e, buf)
	}
	e.Raw(append(buf, '}'))
	return nil
}

// flush hands buf to e once it holds a few KiB, and returns it emptied for reuse.
func flush(e *projections.SnapshotEncoder, buf []byte) []byte {
	if len(buf) < 8<<10 {
		return buf
	}
	e.Raw(buf)
	return buf[:0]
}

// writeHashes writes the hashes the recs hold (sorted as bytes, which is their hex order)
// merged with the odd ones.
func (s *Store) writeHashes(e *projections.SnapshotEncoder, x *envTokens) error {
	s.mu.RLock()
	held := make([][32]byte, 0, len(x.tokens))
	for _, r := range x.tokens {
		if r.flags&flagHash != 0 {
			held = append(held, r.hash)
		}
	}
	odd := make([]string, 0, len(x.odd))
	for h := range x.odd {
		odd = append(odd, h)
	}
	s.mu.RUnlock()
	slices.SortFunc(held, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	slices.Sort(odd)
	out := []byte{'{'}
	var buf [64]byte
	for i := 0; len(held) > 0 || len(odd) > 0; i++ {
		if len(held) > 0 {
			hex.Encode(buf[:], held[0][:])
		}
		var hash, jti string
		if len(odd) == 0 || (len(held) > 0 && string(buf[:]) < odd[0]) {
			hash, jti, held = string(buf[:]), string(buf[:32]), held[1:]
		} else {
			s.mu.RLock()
			j, ok := x.odd[odd[0]]
			s.mu.RUnlock()
			if !ok {
				return errVanished(odd[0])
			}
			hash, jti, odd = odd[0], j, odd[1:]
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(append(appendString(out, hash), ':'), jti)
		out = flush(e, out)
	}
	e.Raw(append(out, '}'))
	return nil
}

func (s *Store) writeRevoked(e *projections.SnapshotEncoder, x *envTokens) error {
	s.mu.RLock()
	keys := make([]string, 0, len(x.revoked))
	for jti := range x.revoked {
		keys = append(keys, jti)
	}
	s.mu.RUnlock()
	slices.Sort(keys)
	buf := []byte{'{'}
	for i, jti := range keys {
		s.mu.RLock()
		at, ok := x.revoked[jti]
		s.mu.RUnlock()
		if !ok {
			return errVanished(jti)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendTime(append(appendString(buf, jti), ':'), at.time())
		buf = flush(e, buf)
	}
	e.Raw(append(buf, '}'))
	return nil
}

// Restore implements projections.Projection.
func (s *Store) Restore(b []byte) error { return s.RestoreFrom(bytes.NewReader(b)) }

// RestoreFrom implements projections.Streamer. A snapshot with some of its three members, with
// by_hash before tokens, a token under another jti than its own, or a hash of no kept token
// is refused (the runtime then rebuilds from the log): json.Marshal of the former model
// never wrote one.
func (s *Store) RestoreFrom(r io.Reader) error {
	fresh := New()
	seen := map[string]bool{}
	dec := json.NewDecoder(r)
	err := projections.DecodeObject(dec, map[string]func(*json.Decoder) error{
		"tokens": func(d *json.Decoder) error { seen["tokens"] = true; return fresh.decodeTokens(d) },
		"by_hash": func(d *json.Decoder) error {
			if !seen["tokens"] {
				return errors.New("by_hash before tokens")
			}
			seen["by_hash"] = true
			return fresh.decodeHashes(d)
		},
		"revoked": func(d *json.Decoder) error { seen["revoked"] = true; return fresh.decodeRevoked(d) },
	})
	if err != nil {
		return fmt.Errorf("restore tokens: %w", err)
	}
	if len(seen) != 0 && len(seen) != 3 { // none: null, {} or nothing, the empty state
		return fmt.Errorf("restore tokens: incomplete snapshot")
	}
	fresh.tokenExp.heapify()
	fresh.revokedExp.heapify()
	s.mu.Lock()
	s.envs, s.tokenExp, s.revokedExp = fresh.envs, fresh.tokenExp, fresh.revokedExp
	s.mu.Unlock()
	return nil
}

func (s *Store) decodeTokens(dec *json.Decoder) error {
	return projections.DecodeEntries(dec, func(env string) error {
		x := s.env(env)
		x.tokens = map[string]*rec{}
		return projections.DecodeEntries(dec, func(jti string) error {
			var t Token
			if err := dec.Decode(&t); err != nil {
				return err
			}
			if t.JTI != jti {
				return fmt.Errorf("token %q kept under %q", t.JTI, jti)
			}
			r := newRec(t)
			x.tokens[jti] = r
			s.tokenExp = append(s.tokenExp, expiry{at: r.expires, env: x.name, jti: jti})
			return nil
		})
	})
}

func (s *Store) decodeHashes(dec *json.Decoder) error {
	return projections.DecodeEntries(dec, func(env string) error {
		x := s.env(env)
		x.hashed = true
		return projections.DecodeEntries(dec, func(hash string) error {
			var jti string
			if err := dec.Decode(&jti); err != nil {
				return err
			}
			if _, ok := x.tokens[jti]; !ok {
				return fmt.Errorf("hash of %q, which is not kept", jti)
			}
			x.setHash(hash, jti)
			return nil
		})
	})
}

func (s *Store) decodeRevoked(dec *json.Decoder) error {
	return projections.DecodeEntries(dec, func(env string) error {
		x := s.env(env)
		x.revoked = map[string]stamp{}
		return projections.DecodeEntries(dec, func(jti string) error {
			var at time.Time
			if err := dec.Decode(&at); err != nil {
				return err
			}
			x.revoked[jti] = toStamp(at)
			s.revokedExp = append(s.revokedExp, expiry{at: toStamp(at), env: x.name, jti: strings.Clone(jti)})
			return nil
		})
	})
}
