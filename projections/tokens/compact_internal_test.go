package tokens

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/projections/projectiontest"
)

// The snapshot is byte for byte what json.Marshal of the former model's state wrote, and a
// snapshot of the former model restores: checkpoints of either version load in the other.
func TestSnapshotIsTheFormerEncoding(t *testing.T) {
	m, f := New(), newFormer()
	for _, rec := range projectiontest.Log(t, eventtypes.Registry(), "acme-test", "acme-live") {
		if err := m.Apply(rec); err != nil {
			t.Fatal(err)
		}
		if err := f.Apply(rec); err != nil {
			t.Fatal(err)
		}
	}
	former, _ := f.Snapshot()
	compact, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(former, compact) {
		t.Fatalf("the snapshot differs from the former encoding:\n%s\n%s", former, compact)
	}
	if len(former) < 500 {
		t.Fatalf("the log left little to compare: %s", former)
	}
	restored := New()
	if err := restored.Restore(former); err != nil {
		t.Fatal(err)
	}
	if again, _ := restored.Snapshot(); !bytes.Equal(former, again) {
		t.Fatal("the former snapshot restored to another state")
	}
}

// querier is what both models answer.
type querier interface {
	ByHash(env, hash string) (Token, bool)
	ByJTI(env, jti string) (Token, bool)
	IsRevoked(env, jti string) bool
	GrantsOf(env, subject, clientID string) []string
	Held(env, subject, clientID string, now time.Time) (grants, standalone []string)
	Snapshot() ([]byte, error)
}

// Random logs (tokens issued again under a jti, hashes the jti does not derive from, odd
// hashes, revocations before and after issue, rotations, times that go back, zero times)
// leave the compact model and the former one with equal snapshots and equal answers, also
// when the compact model restarts from the former's snapshot or its own along the way.
var agreeSeeds = flag.Uint64("seeds", 8, "random logs TestAgreesWithTheFormerModel compares")

func TestAgreesWithTheFormerModel(t *testing.T) {
	// Each seed costs about half a second; more seeds explore more (-seeds), the suite runs
	// eight, and -race -short one (the concurrency is in the conformance suite's checkpoint test).
	seeds := *agreeSeeds
	if testing.Short() {
		seeds = 1
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := newGen(seed)
			m, f := New(), newFormer()
			for i := range 400 {
				rec := g.next(int64(i+1) * 128)
				if err := m.Apply(rec); err != nil {
					t.Fatal(err)
				}
				if err := f.Apply(rec); err != nil {
					t.Fatal(err)
				}
				if i%37 == 0 { // restart from a checkpoint (the former's, or its own)
					var from querier = f
					if i%2 == 0 {
						from = m
					}
					snap, _ := from.Snapshot()
					m = New()
					if err := m.Restore(snap); err != nil {
						t.Fatal(err)
					}
				}
				if i%5 == 0 || i == 399 {
					g.compare(t, i, m, f)
				}
			}
		})
	}
}

type gen struct {
	r      *rand.Rand
	at     time.Time
	jtis   []string
	hashes []string
	envs   []string
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, 7)), at: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), envs: []string{"e1", "e2"}}
}

func (g *gen) pick(list []string, fresh func() string) string {
	if len(list) == 0 || g.r.IntN(3) == 0 {
		return fresh()
	}
	return list[g.r.IntN(len(list))]
}

func (g *gen) hash() string {
	switch g.r.IntN(10) {
	case 0:
		return ""
	case 1:
		return strings.ToUpper(fmt.Sprintf("%064x", g.r.Uint64())) // not lowercase hex
	case 2:
		return g.pick(g.hashes, func() string { return "short-hash" })
	case 3:
		if len(g.hashes) > 0 { // another token's first half (its jti), another second half
			h := g.hashes[g.r.IntN(len(g.hashes))][:32] + fmt.Sprintf("%016x%016x", g.r.Uint64(), g.r.Uint64())
			g.hashes = append(g.hashes, h)
			return h
		}
	}
	h := fmt.Sprintf("%016x%016x%016x%016x", g.r.Uint64(), g.r.Uint64(), g.r.Uint64(), g.r.Uint64())
	g.hashes = append(g.hashes, h)
	return h
}

func (g *gen) when() time.Time {
	switch g.r.IntN(20) {
	case 0:
		return time.Time{}
	case 1:
		return g.at.Add(-time.Duration(g.r.IntN(3600)) * time.Second)
	}
	return g.at.Add(time.Duration(g.r.IntN(600_000)) * time.Millisecond).Add(time.Duration(g.r.IntN(1000)))
}

func (g *gen) list(names ...string) []string {
	switch g.r.IntN(3) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	return names[:1+g.r.IntN(len(names))]
}

func (g *gen) issued() token.Issued {
	hash := g.hash()
	jti := g.pick(g.jtis, func() string { return fmt.Sprintf("jwt-%d", g.r.IntN(1000)) })
	if hash != "" && g.r.IntN(4) != 0 {
		jti = token.HashJTI(hash)
	} else if len(g.hashes) > 0 && g.r.IntN(6) == 0 {
		jti = token.HashJTI(g.hashes[g.r.IntN(len(g.hashes))]) // a jti that is another token's half-hash
	}
	g.jtis = append(g.jtis, jti)
	e := token.Issued{JTI: jti, Kind: []string{token.KindAccess, token.KindRefresh}[g.r.IntN(2)],
		Format: []string{token.FormatOpaque, "jwt"}[g.r.IntN(2)], TokenHash: hash,
		ClientID: []string{"c0", "c1", "c2", "c<é>"}[g.r.IntN(4)], Subject: fmt.Sprintf("u%d", g.r.IntN(4)), SubjectKind: token.SubjectUser,
		Scope: []string{"openid", "a b", "", "\x01\b\f\n\r\t\"\\<>&\u2028\u2029é\x7f"}[g.r.IntN(4)], Audience: g.list("https://a/", "x<&>y"),
		IssuedAt: g.at, ExpiresAt: g.when(), ACR: []string{"", "pwd"}[g.r.IntN(2)], AMR: g.list("pwd", "otp")}
	if g.r.IntN(2) == 0 {
		e.GrantID = fmt.Sprintf("g%d", g.r.IntN(20))
	}
	if g.r.IntN(2) == 0 {
		at := g.when()
		e.AuthTime = &at
	}
	return e
}

func (g *gen) next(pos int64) domain.Record {
	g.at = g.at.Add(time.Duration(g.r.IntN(120)-20) * time.Second) // sometimes back
	var e domain.Event
	switch n := g.r.IntN(10); {
	case n < 6:
		e = g.issued()
	case n < 7:
		jti := g.pick(g.jtis, func() string { return "never-issued" })
		e = token.Revoked{JTI: jti, ExpiresAt: g.when()}
	case n < 8:
		var refs []grant.TokenRef
		for range g.r.IntN(3) {
			refs = append(refs, grant.TokenRef{JTI: g.pick(g.jtis, func() string { return "gone" }), ExpiresAt: g.when()})
		}
		e = grant.Revoked{Reason: grant.ReasonReuse, Tokens: refs}
	default:
		e = grant.Rotated{From: g.pick(g.jtis, func() string { return "none" }), At: g.at}
	}
	return domain.Record{Envelope: domain.Envelope{Position: pos, Environment: g.envs[g.r.IntN(2)], OccurredAt: g.at}, Event: e}
}

func (g *gen) compare(t *testing.T, step int, m, f querier) {
	t.Helper()
	a, _ := m.Snapshot()
	b, _ := f.Snapshot()
	if !bytes.Equal(a, b) {
		t.Fatalf("step %d: snapshots differ:\n%s\n%s", step, a, b)
	}
	if x, y := g.answers(m), g.answers(f); x != y {
		t.Fatalf("step %d: answers differ:\n%s\n%s", step, x, y)
	}
}

// answers is everything the model answers about the log's jtis and hashes, as JSON.
func (g *gen) answers(q querier) string {
	var out []any
	for _, env := range g.envs {
		for _, jti := range append(g.jtis, "never-issued") {
			tok, ok := q.ByJTI(env, jti)
			out = append(out, tok, ok, q.IsRevoked(env, jti))
		}
		for _, h := range append(g.hashes, "short-hash", "") {
			tok, ok := q.ByHash(env, h)
			out = append(out, tok, ok)
			for _, v := range oddForms(h) { // forms of a kept hash that no token has
				tok, ok := q.ByHash(env, v)
				out = append(out, tok, ok)
			}
		}
		for _, c := range []string{"", "c0", "c1", "c2"} {
			for _, u := range []string{"", "u0", "u1", "u3"} {
				out = append(out, q.GrantsOf(env, u, c))
				gr, st := q.Held(env, u, c, g.at)
				out = append(out, gr, st)
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// oddForms are strings near h that name no token unless one was issued with them: its
// first half (a jti), upper case, its last digit changed, one digit more or less.
func oddForms(h string) []string {
	if len(h) < 33 {
		return nil
	}
	last := byte('0')
	if h[len(h)-1] == '0' {
		last = '1'
	}
	return []string{h[:32], strings.ToUpper(h), h[:len(h)-1] + string(last), h + "0", h[:len(h)-1]}
}

// Strings are quoted as encoding/json quotes them (invalid UTF-8 included: no event holds
// any, since events are JSON, but the bytes must not depend on it).
func TestAppendStringIsJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", "plain", "\x00\x1f\x7f", "<&>", "\u2028\u2029", "\xff\xfe", "é\xc3", "\b\f\n\r\t\"\\"}
	for range 20_000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = []byte{byte(r.IntN(256)), 'a', 0xe2, 0x80, 0xa8, '<', '"'}[r.IntN(7)]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		want, _ := json.Marshal(c)
		if got := appendString(nil, c); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, want %s", c, got, want)
		}
	}
}
