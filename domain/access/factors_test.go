package access_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
)

var aliceFactors = []domain.Event{
	factor.TOTPEnrolled{FactorID: "totp-1", Secret: "sealed", At: now},
	factor.TOTPConfirmed{FactorID: "totp-1", Step: 1, At: now},
	factor.PasskeyRegistered{FactorID: "pk-1", Name: "phone", At: now},
}

// An operator's reset removes the factors and ends what the user held, and only that.
func TestResetFactorsEndsWhatTheUserHeld(t *testing.T) {
	for _, tc := range []struct {
		name     string
		factorID string
		removed  []string
	}{
		{"all", "", []string{"factor.removed", "factor.removed"}},
		{"one passkey", "pk-1", []string{"factor.removed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := access.ResetFactors{Environment: "e", UserID: "u1", FactorID: tc.factorID,
				SessionIDs: []string{"s1", "s2"}, GrantIDs: []string{"g1", "g2"}}
			if len(cmd.Streams()) != 6 {
				t.Fatalf("streams %v", cmd.Streams())
			}
			out, err := cmd.Decide([][]domain.Event{aliceFactors, alice, aliceS, bobS, aliceG, bobG}, now)
			if err != nil {
				t.Fatal(err)
			}
			want := [][]string{tc.removed, {"user.sign_ins_ended"}, {"session.revoked"}, nil, {"grant.revoked"}, nil}
			if got := types(out); !reflect.DeepEqual(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			for _, e := range out[0] {
				if r := e.(factor.Removed); r.Reason != factor.RemovedByOperator {
					t.Errorf("removal %+v: want the operator's reason", r)
				}
			}
			if e := out[1][0].(user.SignInsEnded); e.Reason != access.ReasonFactorsReset || !e.At.Equal(now) {
				t.Errorf("sign-ins ended %+v", e)
			}
			if s := out[2][0].(session.Revoked); s.Reason != access.ReasonFactorsReset {
				t.Errorf("session revocation %+v", s)
			}
			if g := out[4][0].(grant.Revoked); g.Reason != access.ReasonFactorsReset || !reflect.DeepEqual(g.Tokens, []grant.TokenRef{live}) {
				t.Errorf("grant revocation %+v: want the live token", g)
			}
		})
	}
}

// Nothing to reset is an error, and then nothing is revoked either.
func TestResetFactorsRefuses(t *testing.T) {
	cmd := access.ResetFactors{Environment: "e", UserID: "u1", SessionIDs: []string{"s1"}}
	if out, err := cmd.Decide([][]domain.Event{nil, alice, aliceS}, now); !errors.Is(err, factor.ErrNoFactor) || out != nil {
		t.Errorf("no factor: %v %v", out, err)
	}
	cmd.FactorID = "pk-unknown"
	if out, err := cmd.Decide([][]domain.Event{aliceFactors, alice, aliceS}, now.Add(time.Second)); !errors.Is(err, factor.ErrNoFactor) || out != nil {
		t.Errorf("unknown factor: %v %v", out, err)
	}
}
