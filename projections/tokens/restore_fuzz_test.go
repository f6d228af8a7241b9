package tokens

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// A checkpoint is read from the data dir, which may hold anything: whatever the file says,
// a restore returns (no panic) and either refuses, leaving the state as it was (the runtime
// then rebuilds from the log), or gives the answers the former model gives for the same
// file, and a state whose own snapshot restores to itself.
func FuzzRestoreFrom(f *testing.F) {
	g := newGen(3)
	m := New()
	for i := range 300 {
		if err := m.Apply(g.next(int64(i+1) * 128)); err != nil {
			f.Fatal(err)
		}
	}
	snap, err := m.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	for _, s := range []string{``, `null`, `{}`, `{"tokens":{},"by_hash":{},"revoked":{}}`, `{"tokens":null,"by_hash":null,"revoked":null}`,
		`{"by_hash":{},"tokens":{},"revoked":{}}`, `{"tokens":{"e":{"j":{"jti":"k"}}},"by_hash":{},"revoked":{}}`,
		`{"tokens":{"e":{"0123456789abcdef0123456789abcdef":{"jti":"0123456789abcdef0123456789abcdef","expires_at":"2262-04-12T00:00:00Z"}}},` +
			`"by_hash":{"e":{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef":"0123456789abcdef0123456789abcdef",` +
			`"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef":"0123456789abcdef0123456789abcdef"}},` +
			`"revoked":{"e":{"x":"0001-01-01T00:00:00Z","x":"9999-12-31T23:59:59+14:00"}}}`,
		`{"tokens":{"e":{"j":{"jti":"j","audience":["a","b"],"amr":[],"auth_time":null}}},"tokens":{"e":{}},"by_hash":{"e":{"h":"j"}},"revoked":{}}`,
		`{"tokens":{"e":{"j":{"jti":"j","issued_at":"1600-01-01T00:00:00+01:00","expires_at":"3000-01-01T00:00:00-05:00"}}},"by_hash":{},"revoked":{}}`,
		`[[[[[[[[[[[[[[`, `{"tokens":{"e":{"j":1}},"by_hash":{},"revoked":{}}`, `{"other":[1,2,{"a":"b"}],"tokens":{},"by_hash":{},"revoked":{}}`,
	} {
		f.Add([]byte(s))
	}
	probe := time.Date(2026, 12, 3, 12, 5, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		m := New()
		if err := m.Apply(newGen(1).next(1)); err != nil { // a state that a refused restore must leave as it was
			t.Fatal(err)
		}
		before, _ := m.Snapshot()
		if err := m.Restore(b); err != nil {
			if after, _ := m.Snapshot(); !bytes.Equal(before, after) {
				t.Fatalf("a refused restore (%v) changed the state", err)
			}
			return
		}
		own, err := m.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		again := New()
		if err := again.Restore(own); err != nil {
			t.Fatalf("the restored state's snapshot does not restore: %v\n%s", err, own)
		}
		if mine, _ := again.Snapshot(); !bytes.Equal(own, mine) {
			t.Fatalf("the restored state's snapshot restores to another:\n%s\n%s", own, mine)
		}
		f := newFormer()
		if err := f.Restore(b); err != nil {
			return // the former refused it: no oracle (the compact model reads streams the former could not)
		}
		if x, y := restoredAnswers(m, f.st, probe), restoredAnswers(f, f.st, probe); x != y {
			t.Fatalf("answers differ from the former model's:\n%s\n%s", x, y)
		}
	})
}

// restoredAnswers is what q says of every jti and hash the file named: found, active at
// probe (the times themselves may be clamped), revoked, superseded, on the deny-list.
func restoredAnswers(q querier, st formerState, probe time.Time) string {
	var out []string
	add := func(env, key string, tok Token, ok bool) {
		out = append(out, fmt.Sprintf("%q %q %v %v %v %v %q %q", env, key, ok, ok && tok.Active(probe), tok.Revoked, tok.Superseded,
			tok.Subject, tok.GrantID))
	}
	for env, toks := range st.Tokens {
		for jti := range toks {
			tok, ok := q.ByJTI(env, jti)
			add(env, jti, tok, ok)
			out = append(out, fmt.Sprint(q.IsRevoked(env, jti)))
		}
	}
	for env, hashes := range st.ByHash {
		for h := range hashes {
			tok, ok := q.ByHash(env, h)
			add(env, h, tok, ok)
		}
	}
	for env, revoked := range st.Revoked {
		for jti := range revoked {
			out = append(out, fmt.Sprint(env, jti, q.IsRevoked(env, jti)))
		}
	}
	slices.Sort(out)
	b, _ := json.Marshal(out)
	return string(b)
}
