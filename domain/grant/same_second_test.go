package grant_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
)

// A code of a sign-in with the old password a moment before a password change, in the
// change's second, is not redeemed after it; one of a sign-in a moment after it is. The
// change is recorded to the instant, as sessions and codes are timed (when it was cut to the
// second, the code of 0.3 s before was redeemed: nothing sweeps unredeemed codes; review).
func TestACodeInThePasswordChangesSecond(t *testing.T) {
	changed := []domain.Event{user.Created{UserID: "user-1", Email: "u@example.com"},
		user.PasswordChanged{PasswordHash: "sealed:v1:x", At: now.Add(500 * time.Millisecond)}}
	for _, tc := range []struct {
		name   string
		signIn time.Duration
		ended  bool
	}{
		{"signed in 0.3 s before the change", 200 * time.Millisecond, true},
		{"signed in 0.2 s after the change", 700 * time.Millisecond, false},
	} {
		c := code
		c.AuthTime = now.Add(tc.signIn)
		_, err := grant.Redeem{Environment: "env", CodeHash: codeHash, Access: tok("a-1", token.KindAccess)}.Decide(
			[][]domain.Event{{c}, nil, nil, changed, clientH}, now.Add(900*time.Millisecond))
		if errors.Is(err, grant.ErrPartyEnded) != tc.ended {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
