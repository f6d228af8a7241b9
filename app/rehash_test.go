package app_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/tenants"
)

// phcOf opens the user's stored hash and returns its PHC parameters (m=…,t=…,p=…).
func phcOf(t *testing.T, h *apptest.Harness, userID string) string {
	t.Helper()
	u, ok := h.Catalog.User(env, userID)
	if !ok {
		t.Fatalf("no user %s", userID)
	}
	phc, err := secret.OpenPassword(apptest.MasterKey, u.PasswordHash)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(phc, "$")[3]
}

// rehashes counts the user's user.password_rehashed events.
func rehashes(t *testing.T, h *apptest.Harness, userID string) int {
	t.Helper()
	recs, err := h.Store.ReadStream(t.Context(), user.Stream(env, userID).Stream)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Type == (user.PasswordRehashed{}).EventType() {
			n++
		}
	}
	return n
}

// A password hashed with older Argon2id parameters is hashed again with the current ones
// when its user signs in with it, once, without ending anything: the same password, so the
// user's sessions and tokens stand. A wrong password renews nothing.
func TestSignInRenewsAnOldHash(t *testing.T) {
	h := newHarness(t)
	older := h.AppWith(secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 32, Time: 1, Threads: 1}}))
	// The harness's instance, with renewal switched on (PAYLENT_PASSWORD_REHASH=on).
	h.App = h.AppWith(secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}}),
		func(o *app.Options) { o.RenewPasswordHashes = true })
	const password = "a long and unusual phrase"
	created := map[string]string{}
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		pw, _ := user.NewPassword(password, email)
		u, err := older.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: email, Name: email, Password: pw}, apptest.Operator)
		if err != nil {
			t.Fatal(err)
		}
		created[email] = u.UserID
	}
	ada, bob := created["ada@example.com"], created["bob@example.com"]
	if got := phcOf(t, h, ada); got != "m=32,t=1,p=1" {
		t.Fatalf("created with %s", got)
	}
	cl, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: env, Type: client.Confidential, Settings: webApp(),
		Grantor: client.OperatorGrantor}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	in := h.SignIn(t, env, ada, cl.ClientID)

	if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "bob@example.com", Password: password + "!",
		Browser: someone}); !errors.Is(err, app.ErrSignInFailed) {
		t.Fatalf("a wrong password: %v", err)
	}
	if got := phcOf(t, h, bob); got != "m=32,t=1,p=1" || rehashes(t, h, bob) != 0 {
		t.Errorf("a wrong password renewed the hash: %s", got)
	}

	for range 2 {
		if u, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com", Password: password,
			Browser: someone}); err != nil || u.ID != ada {
			t.Fatalf("sign-in: %+v %v", u, err)
		}
	}
	if got := phcOf(t, h, ada); got != "m=64,t=1,p=1" {
		t.Errorf("after sign-in the hash has %s, want the current parameters", got)
	}
	if n := rehashes(t, h, ada); n != 1 {
		t.Errorf("%d rehashes for two sign-ins, want 1", n)
	}
	if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com", Password: password + "!",
		Browser: someone}); !errors.Is(err, app.ErrSignInFailed) {
		t.Errorf("a wrong password against the renewed hash: %v", err)
	}
	if _, ok := h.App.SignedIn(env, in.SessionToken); !ok {
		t.Error("the renewal signed the user out")
	}
	if tok, err := h.App.LookupToken(t.Context(), tenants.Tenant{Slug: env}, in.AccessToken); err != nil || tok.Revoked {
		t.Errorf("the renewal ended a token: %+v %v", tok, err)
	}
}

// A sign-in that verified an old hash while the password changed does not put the old
// password back: the renewal names the hash it verified, and the decision finds another.
func TestRenewalNeverOverwritesANewPassword(t *testing.T) {
	h := newHarness(t)
	older := h.AppWith(secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 32, Time: 1, Threads: 1}}))
	pw, _ := user.NewPassword("a long and unusual phrase", "ada@example.com")
	u, err := older.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: "ada@example.com", Name: "Ada", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	verified, _ := h.Catalog.User(env, u.UserID)
	if _, err := h.App.ResetPassword(t.Context(), app.ResetPassword{Environment: env, UserID: u.UserID,
		Password: "another long unusual phrase"}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	sealed, err := secret.SealPassword(apptest.MasterKey, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	if err != nil {
		t.Fatal(err)
	}
	h.Run(t, user.Rehash{Environment: env, UserID: u.UserID, Was: verified.PasswordHash, Hash: sealed})
	if rehashes(t, h, u.UserID) != 0 {
		t.Error("a renewal of the old password was recorded over the new one")
	}
	if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com",
		Password: "another long unusual phrase", Browser: someone}); err != nil {
		t.Errorf("the new password: %v", err)
	}
}

// Renewal is switched on by a setting (PAYLENT_PASSWORD_REHASH), as docs/DEPLOYMENT.md asks
// of every new event type: while instances of a release that cannot read
// user.password_rehashed share the log, a sign-in must not write it (their projections would
// stop at it and every decision on that user's stream would fail there). Off, a sign-in with
// an old hash writes nothing and the old hash goes on verifying.
func TestRenewalIsOffUntilSwitchedOn(t *testing.T) {
	h := newHarness(t) // RenewPasswordHashes off, as on shared infrastructure by default
	older := h.AppWith(secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 32, Time: 1, Threads: 1}}))
	pw, _ := user.NewPassword("a long and unusual phrase", "ada@example.com")
	u, err := older.CreateUser(t.Context(), app.CreateUser{Environment: env, Email: "ada@example.com", Name: "Ada", Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := h.App.CheckPassword(t.Context(), app.SignIn{Environment: env, Email: "ada@example.com",
			Password: "a long and unusual phrase", Browser: someone}); err != nil {
			t.Fatal(err)
		}
	}
	if n := rehashes(t, h, u.UserID); n != 0 || phcOf(t, h, u.UserID) != "m=32,t=1,p=1" {
		t.Errorf("renewal off: %d rehashes, hash %s", n, phcOf(t, h, u.UserID))
	}
}
