package tokens_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/tokens"
)

func TestTokensModel(t *testing.T) {
	store := eventstore.NewMemory()
	reg := eventtypes.Registry()
	now := time.Now().UTC().Truncate(time.Second)
	loop := eventstore.NewLoop(store, reg, func() time.Time { return now })
	sys := domain.Actor{Kind: domain.ActorSystem}
	issue := func(jti, kind, format, hash, grantID string) {
		t.Helper()
		if _, err := loop.Execute(t.Context(), token.Issue{Environment: "e", Token: token.Issued{JTI: jti, Kind: kind, Format: format,
			TokenHash: hash, ClientID: "c1", Subject: "u1", SubjectKind: token.SubjectUser, Scope: "openid",
			IssuedAt: now, ExpiresAt: now.Add(time.Hour), GrantID: grantID}}, sys); err != nil {
			t.Fatal(err)
		}
	}
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	issue("jwt-access-0000001", token.KindAccess, token.FormatJWT, "", "") // not kept (verifies by signature)
	issue(token.HashJTI(h1), token.KindAccess, token.FormatOpaque, h1, "") // kept by hash
	issue(token.HashJTI(h2), token.KindRefresh, token.FormatOpaque, h2, "g1")
	if _, err := loop.Execute(t.Context(), token.Revoke{Environment: "e", JTI: "jwt-access-0000001", Reason: "x"}, sys); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(t.Context(), eventstore.StreamAppend{Environment: "e", Stream: "grant/e/g1", Events: []eventstore.NewEvent{
		enc(t, reg, grant.Revoked{Reason: grant.ReasonReuse, Tokens: []grant.TokenRef{{JTI: token.HashJTI(h2), Kind: "refresh", ExpiresAt: now.Add(time.Hour)}}}, now)}}); err != nil {
		t.Fatal(err)
	}
	live := tokens.New()
	if _, _, err := projections.Replay(t.Context(), store, reg, live); err != nil {
		t.Fatal(err)
	}
	if _, ok := live.ByJTI("e", "jwt-access-0000001"); ok || !live.IsRevoked("e", "jwt-access-0000001") {
		t.Error("a client-credentials JWT must not be kept, but its revocation must")
	}
	if tok, ok := live.ByHash("e", h1); !ok || !tok.Active(now) {
		t.Errorf("opaque token by hash: %+v %v", tok, ok)
	}
	if tok, ok := live.ByHash("e", h2); !ok || tok.Active(now) || !live.IsRevoked("e", tok.JTI) {
		t.Errorf("refresh token of a revoked grant: %+v", tok)
	}
	if _, ok := live.ByHash("other-env", h1); ok {
		t.Error("a token crossed environments")
	}
	// Snapshots restore to an equal model.
	snap, _ := live.Snapshot()
	again := tokens.New()
	if err := again.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if snap2, _ := again.Snapshot(); !bytes.Equal(snap, snap2) {
		t.Error("restore changed the model")
	}
}

func enc(t *testing.T, reg *domain.Registry, e domain.Event, at time.Time) eventstore.NewEvent {
	typ, ver, data, err := reg.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.NewEvent{Type: typ, SchemaVersion: ver, Data: data, OccurredAt: at}
}

// Pruning goes by the time of the events, which instances write with their own clocks, while
// faces judge a token by theirs: an event from an instance whose clock is ahead must not drop
// a revoked JWT from the deny-list (nor a kept token) while this instance still finds it
// unexpired, or the revoked JWT would read as active again until it expires here.
func TestPruneAllowsForClockSkew(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	m := tokens.New()
	exp := now.Add(30 * time.Second)
	apply := func(pos int64, at time.Time, e domain.Event) {
		t.Helper()
		if err := m.Apply(domain.Record{Envelope: domain.Envelope{Position: pos, Environment: "e", OccurredAt: at}, Event: e}); err != nil {
			t.Fatal(err)
		}
	}
	apply(1, now, token.Issued{JTI: "user-jwt-00000001", Kind: token.KindAccess, Format: token.FormatJWT, ClientID: "c1",
		Subject: "u1", SubjectKind: token.SubjectUser, IssuedAt: now, ExpiresAt: exp, GrantID: "g1"})
	apply(2, now, token.Revoked{JTI: "user-jwt-00000001", ExpiresAt: exp})
	apply(3, now, token.Revoked{JTI: "cc-jwt-000000001", ExpiresAt: exp})
	// Another instance, its clock two minutes ahead, appends the event at which the model prunes.
	apply(1024, now.Add(2*time.Minute), grant.Rotated{From: "none", At: now.Add(2 * time.Minute)})
	for _, jti := range []string{"user-jwt-00000001", "cc-jwt-000000001"} {
		if !m.IsRevoked("e", jti) {
			t.Errorf("%s left the deny-list before it expired here", jti)
		}
	}
	if tok, ok := m.ByJTI("e", "user-jwt-00000001"); !ok || !tok.Revoked {
		t.Errorf("the kept token was dropped before it expired here: %+v %v", tok, ok)
	}
	// Well after, they go.
	apply(2048, exp.Add(time.Hour), grant.Rotated{From: "none", At: exp.Add(time.Hour)})
	if m.IsRevoked("e", "user-jwt-00000001") {
		t.Error("an expired revocation was kept")
	}
}
