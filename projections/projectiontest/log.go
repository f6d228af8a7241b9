package projectiontest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/consent"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/mail"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/resource"
	"github.com/paylent/paylent/domain/scope"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
)

// Start is the clock of the log: events occur from here on, a second apart.
var Start = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// builder appends events straight to an in-memory store (the log is facts, not decisions).
type builder struct {
	t     testing.TB
	store *eventstore.Memory
	reg   *domain.Registry
	now   time.Time
}

func (b *builder) add(ref domain.StreamRef, evs ...domain.Event) {
	b.t.Helper()
	a := eventstore.StreamAppend{Environment: ref.Environment, Stream: ref.Stream, ExpectedVersion: eventstore.ExpectAny}
	for _, e := range evs {
		typ, ver, data, err := b.reg.Encode(e)
		if err != nil {
			b.t.Fatalf("encode %T: %v", e, err)
		}
		b.now = b.now.Add(time.Second)
		a.Events = append(a.Events, eventstore.NewEvent{Type: typ, SchemaVersion: ver, Data: data, OccurredAt: b.now,
			Actor: domain.Actor{Kind: domain.ActorSystem, ID: "projectiontest"}})
	}
	if _, err := b.store.Append(b.t.Context(), a); err != nil {
		b.t.Fatalf("append %s: %v", ref.Stream, err)
	}
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func jwk(kid string) json.RawMessage {
	return json.RawMessage(`{"alg":"RS256","e":"AQAB","kid":"` + kid + `","kty":"RSA","n":"xyz","use":"sig"}`)
}

// Log returns, in position order, an event log in which each environment of envs (created
// under its own account) goes through every event type this build stores: keys created and
// rotated, APIs, scopes, clients registered, changed and deleted, users created, changed,
// disabled, enabled and deleted, a registration, a recovery with its password change (and
// one for an unknown address), mail, sessions, consents, codes, grants rotated, retried,
// reused and revoked, tokens issued and revoked, operators added and removed. Every id
// carries its environment's name, so environments hold look-alike data.
func Log(t testing.TB, reg *domain.Registry, envs ...string) []domain.Record {
	t.Helper()
	b := &builder{t: t, store: eventstore.NewMemory(), reg: reg, now: Start}
	for _, env := range envs {
		b.environment(env)
	}
	out, err := b.store.ReadAll(t.Context(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]domain.Record, len(out))
	for i, e := range out {
		if recs[i], err = reg.DecodeEnvelope(e); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

func (b *builder) environment(env string) {
	acct := "acct-" + env
	later := Start.Add(30 * 24 * time.Hour)
	settings := environment.DefaultSettings(env)
	b.add(account.Stream(acct), account.Created{Account: acct, Name: acct})
	b.add(environment.Stream(env), environment.Created{Environment: env, Account: acct, Settings: settings})
	settings.DisplayName = env + " (renamed)"
	b.add(environment.Stream(env), environment.SettingsChanged{Settings: settings})

	k := func(n string) string { return env + "-key-" + n }
	b.add(signingkey.Stream(env),
		signingkey.Created{KID: k("a"), Alg: signingkey.Alg, PublicJWK: jwk(k("a")), PrivateKey: []byte("sealed a"), Role: signingkey.RoleNext},
		signingkey.Promoted{KID: k("a")},
		signingkey.Created{KID: k("b"), Alg: signingkey.Alg, PublicJWK: jwk(k("b")), PrivateKey: []byte("sealed b"), Role: signingkey.RoleNext},
		signingkey.Promoted{KID: k("b")},
		signingkey.Retired{KID: k("a"), VerifyUntil: later},
		signingkey.Created{KID: k("c"), Alg: signingkey.Alg, PublicJWK: jwk(k("c")), PrivateKey: []byte("sealed c"), Role: signingkey.RoleNext})

	api := "https://" + env + ".api.example"
	b.add(resource.Stream(env, api), resource.Created{Identifier: api, Name: "Documents"})
	b.add(scope.Stream(env, "read:documents"), scope.Created{Name: "read:documents", Description: "Read", API: api})
	b.add(scope.Stream(env, "moved"), scope.Created{Name: "moved", Description: "Moved", API: api},
		scope.Updated{Name: "moved", Description: "Moved out of its API"})
	b.add(scope.Stream(env, "gone"), scope.Created{Name: "gone", Description: "Gone"}, scope.Deleted{Name: "gone"})

	web, cli := env+"-web", env+"-cli"
	ws := client.Settings{Name: "Web", GrantTypes: []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"openid", "read:documents"}}
	b.add(client.Stream(env, web), client.Registered{ClientID: web, Type: client.Confidential, Settings: ws, SecretHash: hash(web)})
	ws.Name = "Web (renamed)"
	b.add(client.Stream(env, web), client.Updated{Settings: ws},
		client.SecretRotated{SecretHash: hash(web + "2"), PreviousSecretHash: hash(web), PreviousValidUntil: later})
	b.add(client.Stream(env, cli), client.Registered{ClientID: cli, Type: client.Public,
		Settings: client.Settings{Name: "CLI", GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"http://127.0.0.1/cb"}}},
		client.Deleted{})

	alice, bob := env+"-alice", env+"-bob"
	b.add(user.EmailStream(env, alice+"@example.com"), user.EmailClaimed{UserID: alice})
	b.add(user.Stream(env, alice), user.Created{UserID: alice, Email: alice + "@example.com", Name: "Alice", PasswordHash: "$argon2id$x", EmailVerified: true},
		user.LoginFailed{IP: "203.0.113.1"}, user.Updated{Name: "Alice A."}, user.Disabled{}, user.Enabled{})
	b.add(user.EmailStream(env, bob+"@example.com"), user.EmailClaimed{UserID: bob})
	b.add(user.Stream(env, bob), user.Created{UserID: bob, Email: bob + "@example.com", Name: "Bob", PasswordHash: "$argon2id$y"}, user.Deleted{})
	b.add(user.EmailStream(env, bob+"@example.com"), user.EmailReleased{UserID: bob})

	reg := env + "-reg"
	b.add(registration.Stream(env, reg), registration.Started{RegistrationID: reg, Email: "carol@example.com", ExpiresAt: later},
		registration.PasscodeFailed{}, registration.Verified{TokenHash: hash(reg), ExpiresAt: later}, registration.Completed{UserID: alice})
	b.add(mail.Stream(env, env+"-mail"), mail.Sent{MessageID: env + "-mail", Kind: "passcode", To: "carol@example.com"})
	rec, unknown := env+"-recovery", env+"-recovery-unknown"
	b.add(recovery.Stream(env, rec), recovery.Started{RecoveryID: rec, Email: alice + "@example.com", Existing: true, UserID: alice,
		ExpiresAt: later}, recovery.PasscodeFailed{}, recovery.Verified{TokenHash: hash(rec), ExpiresAt: later}, recovery.Completed{UserID: alice})
	b.add(user.Stream(env, alice), user.PasswordChanged{PasswordHash: "sealed:v1:" + env, At: Start.Add(time.Hour)})
	b.add(user.Stream(env, alice), user.PasswordRehashed{PasswordHash: "sealed:v1:rehashed-" + env})
	b.add(recovery.Stream(env, unknown), recovery.Started{RecoveryID: unknown, Email: "nobody@example.com", ExpiresAt: later})

	b.factors(env, alice)
	b.add(user.Stream(env, alice), user.SignInsEnded{Reason: "factors_reset", At: Start.Add(time.Hour)})

	s1, s2 := session.ID(hash(env+"s1")), session.ID(hash(env+"s2"))
	b.add(session.Stream(env, s1), session.Started{SessionID: s1, UserID: alice, TokenHash: hash(env + "s1"), AuthTime: Start, ExpiresAt: later,
		AMR: []string{session.AMRPassword, session.AMROTP, session.AMRMulti}, ACR: session.ACRMultiFactor},
		session.Touched{At: Start.Add(time.Hour), IP: "203.0.113.1"})
	b.add(session.Stream(env, s2), session.Started{SessionID: s2, UserID: alice, TokenHash: hash(env + "s2"), AuthTime: Start, ExpiresAt: later},
		session.Revoked{Reason: session.ReasonLogout})
	b.add(consent.Stream(env, alice, web), consent.Granted{UserID: alice, ClientID: web, Scope: "openid read:documents"})
	b.add(consent.Stream(env, alice, cli), consent.Granted{UserID: alice, ClientID: cli, Scope: "openid"}, consent.Revoked{UserID: alice, ClientID: cli})

	b.grants(env, web, alice, s1, later)

	cc := env + "-cc"
	b.add(token.Stream(env, cc), token.Issued{JTI: cc, Kind: token.KindAccess, Format: token.FormatOpaque, TokenHash: hash(cc),
		ClientID: web, Subject: web, SubjectKind: token.SubjectClient, Scope: "read:documents", Audience: []string{api},
		IssuedAt: Start, ExpiresAt: later}, token.Revoked{JTI: cc, Kind: token.KindAccess, ClientID: web, ExpiresAt: later, Reason: "revoked_by_client"})
	jwt := env + "-jwt-access-token"
	b.add(token.Stream(env, jwt), token.Issued{JTI: jwt, Kind: token.KindAccess, Format: token.FormatJWT, ClientID: web,
		Subject: web, SubjectKind: token.SubjectClient, IssuedAt: Start, ExpiresAt: later})

	b.add(account.Stream(acct), account.OperatorAdded{UserID: alice, Email: alice + "@example.com"},
		account.OperatorAdded{UserID: bob, Email: bob + "@example.com"}, account.OperatorRemoved{UserID: bob})
}

// factors: an authenticator enrolled (replacing a pending one), confirmed with recovery
// codes, used, a recovery code used, a wrong and a replayed code, then removed by an operator
// and enrolled again.
func (b *builder) factors(env, userID string) {
	sealed := "sealed:v1:" + env + "-seed"
	var codes []string
	for i := range factor.RecoveryCodes {
		codes = append(codes, hash(env+"-recovery-code-"+string(rune('a'+i))))
	}
	step := factor.Step(Start)
	b.add(factor.Stream(env, userID), factor.TOTPEnrolled{FactorID: env + "-totp-1", Secret: sealed, At: Start},
		factor.TOTPEnrolled{FactorID: env + "-totp-2", Secret: sealed + "2", At: Start},
		factor.TOTPConfirmed{FactorID: env + "-totp-2", Step: step, RecoveryCodes: codes, At: Start},
		factor.TOTPUsed{FactorID: env + "-totp-2", Step: step + 1, At: Start},
		factor.CodeFailed{Kind: factor.KindTOTP, Reason: factor.FailureReplayed, At: Start},
		factor.RecoveryCodeUsed{CodeHash: codes[0], At: Start},
		factor.CodeFailed{Kind: factor.KindRecoveryCode, Reason: factor.FailureWrong, At: Start},
		factor.Removed{FactorID: env + "-totp-2", Kind: factor.KindTOTP, Reason: factor.RemovedByOperator, At: Start},
		factor.TOTPEnrolled{FactorID: env + "-totp-3", Secret: sealed + "3", At: Start},
		factor.PasskeyRegistered{FactorID: env + "-passkey-1", CredentialID: "Y3JlZGVudGlhbC1pZC0wMDAx", PublicKey: "cHVibGljLWtleS1jb3NlLWJ5dGVz",
			SignCount: 1, Flags: 0x45, Transports: []string{"internal"}, Name: "Laptop", At: Start},
		factor.PasskeyUsed{FactorID: env + "-passkey-1", SignCount: 2, Flags: 0x05, At: Start},
		factor.PasskeyRegistered{FactorID: env + "-passkey-2", CredentialID: "Y3JlZGVudGlhbC1pZC0wMDAy", PublicKey: "cHVibGljLWtleS1jb3NlLWJ5dGVz",
			Flags: 0x5d, Name: "Phone", At: Start},
		factor.Removed{FactorID: env + "-passkey-2", Kind: factor.KindPasskey, Reason: factor.RemovedByUser, At: Start})
}

// grants: a code redeemed into a grant, rotated, retried, reused (and so revoked); a second
// code replayed.
func (b *builder) grants(env, clientID, userID, sessionID string, later time.Time) {
	tok := func(name, kind, grantID string) token.Issued {
		jti := env + "-" + name
		return token.Issued{JTI: jti, Kind: kind, Format: token.FormatOpaque, TokenHash: hash(jti), ClientID: clientID,
			Subject: userID, SubjectKind: token.SubjectUser, Scope: "openid read:documents", IssuedAt: Start, ExpiresAt: later, GrantID: grantID}
	}
	ref := func(t token.Issued) grant.TokenRef {
		return grant.TokenRef{JTI: t.JTI, Kind: t.Kind, ExpiresAt: t.ExpiresAt}
	}
	for i, code := range []string{env + "-code-1", env + "-code-2"} {
		codeHash := hash(code)
		g := authcode.GrantID(codeHash)
		b.add(authcode.Stream(env, codeHash), authcode.Issued{CodeHash: codeHash, ClientID: clientID, RedirectURI: "https://app.example/cb",
			Scope: "openid read:documents", UserID: userID, SessionID: sessionID, AuthTime: Start, ExpiresAt: Start.Add(time.Minute)},
			authcode.Redeemed{GrantID: g})
		a1, r1 := tok(code+"-a1", token.KindAccess, g), tok(code+"-r1", token.KindRefresh, g)
		b.add(grant.Stream(env, g), grant.Created{GrantID: g, ClientID: clientID, UserID: userID, Scope: "openid read:documents",
			SessionID: sessionID, AuthTime: Start, Refresh: r1.JTI, Tokens: []grant.TokenRef{ref(a1), ref(r1)}})
		b.add(token.Stream(env, a1.JTI), a1)
		b.add(token.Stream(env, r1.JTI), r1)
		if i == 1 {
			b.add(authcode.Stream(env, codeHash), authcode.ReplayDetected{ClientID: clientID})
			b.add(grant.Stream(env, g), grant.Revoked{Reason: grant.ReasonCodeReplay, Tokens: []grant.TokenRef{ref(a1), ref(r1)}})
			continue
		}
		a2, r2, a3 := tok(code+"-a2", token.KindAccess, g), tok(code+"-r2", token.KindRefresh, g), tok(code+"-a3", token.KindAccess, g)
		b.add(grant.Stream(env, g), grant.Rotated{From: r1.JTI, Refresh: r2.JTI, Tokens: []grant.TokenRef{ref(a2), ref(r2)}, At: Start})
		b.add(token.Stream(env, a2.JTI), a2)
		b.add(token.Stream(env, r2.JTI), r2)
		b.add(grant.Stream(env, g), grant.RotationRetried{From: r1.JTI, Tokens: []grant.TokenRef{ref(a3)}})
		b.add(token.Stream(env, a3.JTI), a3)
		b.add(grant.Stream(env, g), grant.ReuseDetected{RefreshJTI: r1.JTI},
			grant.Revoked{Reason: grant.ReasonReuse, Tokens: []grant.TokenRef{ref(a1), ref(r1), ref(a2), ref(r2), ref(a3)}})
	}
}
