package factor_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/user"
)

func challenge(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var laptop = factor.PasskeyRegistered{FactorID: "passkey-0001", CredentialID: "Y3JlZGVudGlhbC1pZC0wMDAx",
	PublicKey: "cHVibGljLWtleS1jb3NlLWJ5dGVz", SignCount: 3, Flags: 0x45, Name: "Laptop"}

// A passkey is registered once, signs in while its counter grows (or stays 0 for
// authenticators that keep none), and is removed as any factor.
func TestPasskeys(t *testing.T) {
	reg := factor.RegisterPasskey{Environment: "e", UserID: "u1", Passkey: laptop}
	got, err := decide(t, reg, nil, ada)
	if err != nil || len(got) != 1 || got[0].(factor.PasskeyRegistered).At != now {
		t.Fatalf("register: %v %v", got, err)
	}
	have := got
	again := reg
	again.MultiFactor = true
	if _, err := decide(t, again, have, ada); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("the same credential again: %v", err)
	}
	bad := reg
	bad.Passkey.CredentialID = "not base64url!"
	if _, err := decide(t, bad, nil, ada); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("a malformed credential id: %v", err)
	}
	if _, err := decide(t, reg, nil, plus(ada, user.Deleted{})); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a deleted user: %v", err)
	}
	use := func(count uint32) factor.UsePasskey {
		return factor.UsePasskey{Environment: "e", UserID: "u1", CredentialID: laptop.CredentialID, SignCount: count, Flags: 0x05,
			Challenge: challenge(fmt.Sprint(count)), ChallengeExpires: now.Add(5 * time.Minute)}
	}
	got, err = decide(t, use(4), have, ada)
	if err != nil || got[0].(factor.PasskeyUsed).SignCount != 4 {
		t.Fatalf("use: %v %v", got, err)
	}
	have = plus(have, got...)
	if _, err := decide(t, use(4), have, ada); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a counter that did not grow: %v", err)
	}
	if _, err := decide(t, factor.UsePasskey{Environment: "e", UserID: "u1", CredentialID: "b3RoZXItY3JlZGVudGlhbA",
		Challenge: challenge("x"), ChallengeExpires: now.Add(time.Minute)}, have, ada); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("an unknown credential: %v", err)
	}
	got, err = decide(t, factor.Remove{Environment: "e", UserID: "u1", FactorID: laptop.FactorID, Reason: factor.RemovedByUser,
		MultiFactor: true}, have, ada)
	if err != nil || got[0].(factor.Removed).Kind != factor.KindPasskey {
		t.Fatalf("remove: %v %v", got, err)
	}
	if s := factor.Fold(plus(have, got...)); len(s.Passkeys) != 0 {
		t.Errorf("after removal: %+v", s.Passkeys)
	}
	if s := factor.Fold(have); len(s.Passkeys) != 1 || s.Passkeys[0].SignCount != 4 || s.Passkeys[0].LastUsedAt != now || s.HasSecondFactor() {
		t.Errorf("state %+v", s)
	}
}

// Once a user has a second factor or a passkey, a sign-in that proved only the password
// (MultiFactor false) changes none of their factors: no passkey added, no authenticator set
// up or confirmed in front of a passkey, nothing removed by the user. An operator's reset
// and a user's first factor need no second factor.
func TestFactorsChangeOnlyAfterASecondFactor(t *testing.T) {
	withPasskey := []domain.Event{laptop}
	other := laptop
	other.FactorID, other.CredentialID = "passkey-0002", "b3RoZXItY3JlZGVudGlhbC0wMDAy"
	cases := []struct {
		name    string
		cmd     domain.Command
		factors []domain.Event
	}{
		{"a passkey next to an authenticator", factor.RegisterPasskey{Environment: "e", UserID: "u1", Passkey: other}, active},
		{"a passkey next to a passkey", factor.RegisterPasskey{Environment: "e", UserID: "u1", Passkey: other}, withPasskey},
		{"an authenticator next to a passkey", factor.EnrolTOTP{Environment: "e", UserID: "u1", FactorID: "totp-0002", Secret: sealed}, withPasskey},
		{"confirming one next to a passkey", factor.ConfirmTOTP{Environment: "e", UserID: "u1", FactorID: "totp-0001",
			Check: codeOf(factor.Step(now)), RecoveryCodes: codes}, plus(pending, laptop)},
		{"removing a passkey", factor.Remove{Environment: "e", UserID: "u1", FactorID: laptop.FactorID, Reason: factor.RemovedByUser}, withPasskey},
		{"removing the authenticator", factor.Remove{Environment: "e", UserID: "u1", FactorID: "totp-0001", Reason: factor.RemovedByUser}, active},
	}
	for _, c := range cases {
		if _, err := decide(t, c.cmd, c.factors, ada); !errors.Is(err, factor.ErrStepUp) {
			t.Errorf("%s with a password alone: %v", c.name, err)
		}
	}
	if _, err := decide(t, factor.RegisterPasskey{Environment: "e", UserID: "u1", Passkey: other, MultiFactor: true}, active, ada); err != nil {
		t.Errorf("a passkey after the authenticator's code: %v", err)
	}
	if _, err := decide(t, factor.RegisterPasskey{Environment: "e", UserID: "u1", Passkey: other}, nil, ada); err != nil {
		t.Errorf("a first passkey: %v", err)
	}
	if _, err := decide(t, factor.Remove{Environment: "e", UserID: "u1", FactorID: laptop.FactorID, Reason: factor.RemovedByOperator},
		withPasskey, ada); err != nil {
		t.Errorf("an operator's reset: %v", err)
	}
}

// A sign-in challenge is good once: a captured assertion sent again with its ceremony's
// state is refused, even by a passkey that keeps no counter (synced passkeys send 0), and
// so is a challenge past its end or one that claims a longer life than a ceremony has. A
// used challenge is remembered until it expires, no longer.
func TestPasskeyChallengeIsSingleUse(t *testing.T) {
	synced := laptop
	synced.SignCount = 0
	have := []domain.Event{synced}
	use := factor.UsePasskey{Environment: "e", UserID: "u1", CredentialID: synced.CredentialID, Flags: 0x1d,
		Challenge: challenge("ceremony-1"), ChallengeExpires: now.Add(5 * time.Minute)}
	got, err := decide(t, use, have, ada)
	if err != nil || got[0].(factor.PasskeyUsed).Challenge != use.Challenge {
		t.Fatalf("first use: %v %v", got, err)
	}
	have = plus(have, got...)
	if _, err := decide(t, use, have, ada); !errors.Is(err, factor.ErrChallengeUsed) {
		t.Errorf("the same challenge again: %v", err)
	}
	next := use
	next.Challenge = challenge("ceremony-2")
	if _, err := decide(t, next, have, ada); err != nil {
		t.Errorf("a new ceremony: %v", err)
	}
	for name, c := range map[string]factor.UsePasskey{
		"expired":      {Challenge: challenge("old"), ChallengeExpires: now},
		"too long":     {Challenge: challenge("long"), ChallengeExpires: now.Add(factor.MaxCeremony + time.Second)},
		"no challenge": {ChallengeExpires: now.Add(time.Minute)},
	} {
		c.Environment, c.UserID, c.CredentialID = "e", "u1", synced.CredentialID
		if _, err := decide(t, c, have, ada); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	later := factor.PasskeyUsed{FactorID: synced.FactorID, Challenge: challenge("ceremony-3"), ChallengeExpires: now.Add(time.Hour),
		At: now.Add(6 * time.Minute)}
	if s := factor.Fold(plus(have, later)); len(s.Challenges) != 1 {
		t.Errorf("expired challenges are kept: %v", s.Challenges)
	}
}

// An operator's reset of every factor removes the authenticator (pending or confirmed) and
// each passkey in one append; a user with none has nothing to reset.
func TestRemoveAll(t *testing.T) {
	rm := factor.RemoveAll{Environment: "e", UserID: "u1", Reason: factor.RemovedByOperator}
	have := plus(active, laptop)
	got, err := decide(t, rm, have, plus(ada, user.Disabled{}))
	if err != nil || len(got) != 2 || got[0].(factor.Removed).Kind != factor.KindTOTP || got[1].(factor.Removed).Kind != factor.KindPasskey {
		t.Fatalf("remove all: %v %v", got, err)
	}
	if s := factor.Fold(plus(have, got...)); s.TOTP != nil || len(s.Passkeys) != 0 || s.RecoveryCodesLeft() != 0 {
		t.Errorf("after: %+v", s)
	}
	if _, err := decide(t, rm, nil, ada); !errors.Is(err, factor.ErrNoFactor) {
		t.Errorf("nothing to remove: %v", err)
	}
	rm.Reason = ""
	if _, err := decide(t, rm, have, ada); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("no reason: %v", err)
	}
}
