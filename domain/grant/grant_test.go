package grant_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
)

var (
	now      = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	codeHash = strings.Repeat("c0", 32)
	code     = authcode.Issued{CodeHash: codeHash, ClientID: "client-1", RedirectURI: "https://app/cb", Scope: "openid profile",
		UserID: "user-1", SessionID: "s-1", AuthTime: now, ExpiresAt: now.Add(time.Minute)}
)

var (
	userH   = []domain.Event{user.Created{UserID: "user-1", Email: "u@example.com"}}
	clientH = []domain.Event{client.Registered{ClientID: "client-1", Type: client.Confidential}}
)

// with appends the histories of the user and the client, the streams a decision guards.
func with(h ...[]domain.Event) [][]domain.Event { return append(h, userH, clientH) }

func tok(jti, kind string) token.Issued {
	return token.Issued{JTI: jti, Kind: kind, Format: token.FormatOpaque, ClientID: "client-1", Subject: "user-1",
		SubjectKind: token.SubjectUser, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func types(out [][]domain.Event) []string {
	var t []string
	for _, evs := range out {
		for _, e := range evs {
			t = append(t, e.EventType())
		}
	}
	return t
}

func TestRedeemThenReplay(t *testing.T) {
	refresh := tok("refresh-1", token.KindRefresh)
	cmd := grant.Redeem{Environment: "e", CodeHash: codeHash, Access: tok("access-1", token.KindAccess), Refresh: &refresh}
	out, err := cmd.Decide(with([]domain.Event{code}, nil, nil, nil), now)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(types(out), ","); got != "authcode.redeemed,grant.created,token.issued,token.issued" {
		t.Fatalf("events %s", got)
	}
	created := out[1][0].(grant.Created)
	if created.GrantID != authcode.GrantID(codeHash) || created.Refresh != "refresh-1" || len(created.Tokens) != 2 {
		t.Errorf("grant %+v", created)
	}
	if out[2][0].(token.Issued).GrantID != created.GrantID {
		t.Error("access token not bound to its grant")
	}

	// The same code again: the replay is recorded and the grant revoked with its tokens.
	replay := grant.Redeem{Environment: "e", CodeHash: codeHash, Access: tok("access-2", token.KindAccess)}
	out2, err := replay.Decide(with([]domain.Event{code, out[0][0]}, []domain.Event{created}, nil), now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(types(out2), ","); got != "authcode.replay_detected,grant.revoked" {
		t.Fatalf("replay events %s", got)
	}
	if rev := out2[1][0].(grant.Revoked); rev.Reason != grant.ReasonCodeReplay || len(rev.Tokens) != 2 {
		t.Errorf("revocation %+v", rev)
	}
	// An expired code is refused; another client's too.
	if _, err := cmd.Decide(with([]domain.Event{code}, nil, nil, nil), now.Add(2*time.Minute)); err == nil {
		t.Error("expired code redeemed")
	}
	other := cmd
	other.Access.ClientID = "client-2"
	if _, err := other.Decide(with([]domain.Event{code}, nil, nil, nil), now); err == nil {
		t.Error("another client redeemed the code")
	}
}

func TestRefreshRotationReuseAndRetry(t *testing.T) {
	created := grant.Created{GrantID: "g1", ClientID: "client-1", UserID: "user-1", Scope: "openid profile", Refresh: "r1",
		Tokens: []grant.TokenRef{{JTI: "a1", Kind: "access", ExpiresAt: now.Add(time.Hour)}, {JTI: "r1", Kind: "refresh", ExpiresAt: now.Add(48 * time.Hour)}}}
	refresh := func(presented, next string, window time.Duration, scope ...string) grant.Refresh {
		return grant.Refresh{Environment: "e", GrantID: "g1", Presented: presented, Scope: oauth.NewScopes(scope...),
			Access: tok("a-"+next, token.KindAccess), NewRefresh: tok(next, token.KindRefresh), RetryWindow: window,
			PresentedExpiresAt: now.Add(48 * time.Hour)}
	}
	out, err := refresh("r1", "r2", 0, "openid").Decide(with([]domain.Event{created}, nil, nil), now)
	if err != nil || strings.Join(types(out), ",") != "grant.rotated,token.issued,token.issued" {
		t.Fatalf("rotation: %v %v", types(out), err)
	}
	rotated := out[0][0].(grant.Rotated)
	history := []domain.Event{created, rotated}

	// r1 again, strict: reuse → the family is revoked.
	out, err = refresh("r1", "r2", 0).Decide(with(history, nil, nil), now.Add(time.Second))
	if err != nil || strings.Join(types(out), ",") != "grant.reuse_detected,grant.revoked" {
		t.Fatalf("reuse: %v %v", types(out), err)
	}
	if rev := out[0][1].(grant.Revoked); len(rev.Tokens) != 4 {
		t.Errorf("revocation must name every live token: %+v", rev.Tokens)
	}
	// r1 again within a 30 s window: the same r2, a new access token, no revocation.
	out, err = refresh("r1", "r2", 30*time.Second).Decide(with(history, nil, nil), now.Add(10*time.Second))
	if err != nil || strings.Join(types(out), ",") != "grant.rotation_retried,token.issued" {
		t.Fatalf("retry: %v %v", types(out), err)
	}
	// ...but not after the window.
	out, _ = refresh("r1", "r2", 30*time.Second).Decide(with(history, nil, nil), now.Add(time.Minute))
	if strings.Join(types(out), ",") != "grant.reuse_detected,grant.revoked" {
		t.Errorf("retry after the window: %v", types(out))
	}
	// Widening is refused; a revoked grant refuses everything.
	if _, err := refresh("r2", "r3", 0, "openid", "email").Decide(with(history, nil, nil), now); err == nil {
		t.Error("scope widened on refresh")
	}
	revoked := append(history, grant.Revoked{Reason: "x"})
	if _, err := refresh("r2", "r3", 0).Decide(with(revoked, nil, nil), now); err != grant.ErrRevoked {
		t.Errorf("refresh of a revoked grant: %v", err)
	}
}

// Nothing is issued for a disabled or deleted user or a deleted client, whatever the
// caller's read model said; a token for another subject than the grant's is refused.
func TestPartiesMustStand(t *testing.T) {
	created := grant.Created{GrantID: "g1", ClientID: "client-1", UserID: "user-1", Scope: "openid", Refresh: "r1"}
	refresh := grant.Refresh{Environment: "e", GrantID: "g1", Presented: "r1", Access: tok("a2", token.KindAccess),
		NewRefresh: tok("r2", token.KindRefresh), PresentedExpiresAt: now.Add(time.Hour)}
	redeem := grant.Redeem{Environment: "e", CodeHash: codeHash, Access: tok("access-1", token.KindAccess)}
	disabled := append(append([]domain.Event(nil), userH...), user.Disabled{})
	deletedUser := append(append([]domain.Event(nil), userH...), user.Deleted{})
	deletedClient := append(append([]domain.Event(nil), clientH...), client.Deleted{})
	for name, parties := range map[string][2][]domain.Event{
		"user disabled": {disabled, clientH}, "user deleted": {deletedUser, clientH},
		"client deleted": {userH, deletedClient}, "no user": {nil, clientH},
	} {
		if _, err := refresh.Decide([][]domain.Event{{created}, nil, nil, parties[0], parties[1]}, now); !errors.Is(err, grant.ErrPartyEnded) {
			t.Errorf("refresh, %s: %v", name, err)
		}
		if _, err := redeem.Decide([][]domain.Event{{code}, nil, nil, parties[0], parties[1]}, now); !errors.Is(err, grant.ErrPartyEnded) {
			t.Errorf("redeem, %s: %v", name, err)
		}
	}
	other := refresh
	other.Access.Subject = "user-2"
	if _, err := other.Decide(with([]domain.Event{created}, nil, nil), now); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("refresh for another subject: %v", err)
	}
	for _, ref := range refresh.Streams()[3:] {
		if !ref.Guard {
			t.Errorf("%s is read but not guarded", ref.Stream)
		}
	}
}

// A password change ends what rests on an authentication before it: a code issued from an
// older sign-in is not redeemed, an older grant not refreshed; a sign-in with the new
// password (in the same second or later) is.
func TestPasswordChangeEndsOlderAuthentications(t *testing.T) {
	changed := append(append([]domain.Event(nil), userH...), user.PasswordChanged{PasswordHash: "sealed:v1:x", At: now.Add(time.Minute)})
	redeem := grant.Redeem{Environment: "e", CodeHash: codeHash, Access: tok("access-1", token.KindAccess)}
	older, newer := code, code
	older.AuthTime, older.ExpiresAt = now.Add(59*time.Second), now.Add(2*time.Minute)
	newer.AuthTime, newer.ExpiresAt = now.Add(time.Minute), now.Add(2*time.Minute)
	if _, err := redeem.Decide([][]domain.Event{{older}, nil, nil, changed, clientH}, now); !errors.Is(err, grant.ErrPartyEnded) {
		t.Errorf("redeem of a code from before the change: %v", err)
	}
	if _, err := redeem.Decide([][]domain.Event{{newer}, nil, nil, changed, clientH}, now); err != nil {
		t.Errorf("redeem of a code from the new password: %v", err)
	}
	refresh := grant.Refresh{Environment: "e", GrantID: "g1", Presented: "r1", Access: tok("a2", token.KindAccess),
		NewRefresh: tok("r2", token.KindRefresh), PresentedExpiresAt: now.Add(time.Hour)}
	for _, tc := range []struct {
		auth time.Time
		ok   bool
	}{{now, false}, {now.Add(time.Minute), true}} {
		created := grant.Created{GrantID: "g1", ClientID: "client-1", UserID: "user-1", Scope: "openid", Refresh: "r1", AuthTime: tc.auth}
		_, err := refresh.Decide([][]domain.Event{{created}, nil, nil, changed, clientH}, now)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, grant.ErrPartyEnded) {
			t.Errorf("refresh of a grant authenticated at %v: %v", tc.auth, err)
		}
	}
}

// An operator's factor reset ends what rests on an authentication at or before it (the
// lost device may have made it): a code is not redeemed, a grant not refreshed; a sign-in
// after it is. A second reset earlier in time does not bring the first one's back.
func TestSignInsEndedEndOlderAuthentications(t *testing.T) {
	at := now.Add(time.Minute)
	ended := append(append([]domain.Event(nil), userH...), user.SignInsEnded{Reason: "factors_reset", At: at},
		user.SignInsEnded{Reason: "factors_reset", At: now})
	redeem := grant.Redeem{Environment: "e", CodeHash: codeHash, Access: tok("access-1", token.KindAccess)}
	refresh := grant.Refresh{Environment: "e", GrantID: "g1", Presented: "r1", Access: tok("a2", token.KindAccess),
		NewRefresh: tok("r2", token.KindRefresh), PresentedExpiresAt: now.Add(time.Hour)}
	for _, tc := range []struct {
		auth time.Time
		ok   bool
	}{{now, false}, {at, false}, {at.Add(time.Second), true}} {
		c := code
		c.AuthTime, c.ExpiresAt = tc.auth, now.Add(2*time.Minute)
		_, err := redeem.Decide([][]domain.Event{{c}, nil, nil, ended, clientH}, now)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, grant.ErrPartyEnded) {
			t.Errorf("redeem of a code authenticated at %v: %v", tc.auth, err)
		}
		created := grant.Created{GrantID: "g1", ClientID: "client-1", UserID: "user-1", Scope: "openid", Refresh: "r1", AuthTime: tc.auth}
		_, err = refresh.Decide([][]domain.Event{{created}, nil, nil, ended, clientH}, now)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, grant.ErrPartyEnded) {
			t.Errorf("refresh of a grant authenticated at %v: %v", tc.auth, err)
		}
	}
}

func TestCheckCode(t *testing.T) {
	verifier := strings.Repeat("v", 43)
	withPKCE := code
	withPKCE.Challenge, withPKCE.RedirectGiven = oauth.S256Challenge(verifier), true
	st := authcode.State{Issued: &withPKCE}
	cases := map[string]struct {
		client, redirect, verifier string
		public                     bool
		at                         time.Time
		ok                         bool
	}{
		"good":           {"client-1", "https://app/cb", verifier, true, now, true},
		"wrong verifier": {"client-1", "https://app/cb", strings.Repeat("w", 43), false, now, false},
		"no verifier":    {"client-1", "https://app/cb", "", false, now, false},
		"other redirect": {"client-1", "https://app/other", verifier, false, now, false},
		"other client":   {"client-2", "https://app/cb", verifier, false, now, false},
		"expired":        {"client-1", "https://app/cb", verifier, false, now.Add(time.Minute), false},
	}
	for name, c := range cases {
		if msg := authcode.Check(st, c.client, c.redirect, c.verifier, c.public, c.at); (msg == "") != c.ok {
			t.Errorf("%s: %q", name, msg)
		}
	}
	plain := authcode.State{Issued: &code}
	if authcode.Check(plain, "client-1", "", "", true, now) == "" {
		t.Error("public client without PKCE accepted")
	}
	if authcode.Check(plain, "client-1", "", "", false, now) != "" {
		t.Error("confidential client without PKCE refused")
	}
}
