package factor_test

import (
	"errors"
	"testing"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/user"
)

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
		return factor.UsePasskey{Environment: "e", UserID: "u1", CredentialID: laptop.CredentialID, SignCount: count, Flags: 0x05}
	}
	got, err = decide(t, use(4), have, ada)
	if err != nil || got[0].(factor.PasskeyUsed).SignCount != 4 {
		t.Fatalf("use: %v %v", got, err)
	}
	have = plus(have, got...)
	if _, err := decide(t, use(4), have, ada); !errors.Is(err, domain.ErrForbidden) {
		t.Errorf("a counter that did not grow: %v", err)
	}
	if _, err := decide(t, factor.UsePasskey{Environment: "e", UserID: "u1", CredentialID: "b3RoZXItY3JlZGVudGlhbA"}, have, ada); !errors.Is(err, domain.ErrNotFound) {
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
