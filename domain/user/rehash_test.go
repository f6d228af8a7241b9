package user_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
)

// A rehash replaces the hash only while it is the one the password was verified against: a
// password changed meanwhile (or a rehash by another instance first) leaves nothing to do,
// so an old password's new hash never overwrites a new password.
func TestRehash(t *testing.T) {
	const old, fresh, newer = "sealed:v1:old", "sealed:v1:fresh", "sealed:v1:newer"
	created := user.Created{UserID: "u1", Email: "ada@example.com", PasswordHash: old}
	for _, tc := range []struct {
		name    string
		history []domain.Event
		cmd     user.Rehash
		want    []domain.Event
		err     error
	}{
		{"the verified hash", []domain.Event{created}, user.Rehash{Was: old, Hash: fresh},
			[]domain.Event{user.PasswordRehashed{PasswordHash: fresh}}, nil},
		{"the password changed meanwhile", []domain.Event{created, user.PasswordChanged{PasswordHash: newer, At: time.Now()}},
			user.Rehash{Was: old, Hash: fresh}, nil, nil},
		{"rehashed by another instance first", []domain.Event{created, user.PasswordRehashed{PasswordHash: newer}},
			user.Rehash{Was: old, Hash: fresh}, nil, nil},
		{"after a rehash, from it", []domain.Event{created, user.PasswordRehashed{PasswordHash: newer}},
			user.Rehash{Was: newer, Hash: fresh}, []domain.Event{user.PasswordRehashed{PasswordHash: fresh}}, nil},
		{"disabled", []domain.Event{created, user.Disabled{}}, user.Rehash{Was: old, Hash: fresh}, nil, nil},
		{"nothing verified", []domain.Event{created}, user.Rehash{Hash: fresh}, nil, nil},
		{"deleted", []domain.Event{created, user.Deleted{}}, user.Rehash{Was: old, Hash: fresh}, nil, domain.ErrNotFound},
		{"unknown", nil, user.Rehash{Was: old, Hash: fresh}, nil, domain.ErrNotFound},
		{"an unsealed hash", []domain.Event{created}, user.Rehash{Was: old, Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5"},
			nil, domain.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cmd.Environment, tc.cmd.UserID = "acme-test", "u1"
			got, err := tc.cmd.Decide([][]domain.Event{tc.history}, time.Now())
			if !errors.Is(err, tc.err) || tc.err == nil && err != nil {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			var evs []domain.Event
			if len(got) > 0 {
				evs = got[0]
			}
			if !reflect.DeepEqual(evs, tc.want) {
				t.Errorf("decided %v, want %v", evs, tc.want)
			}
		})
	}
	// A rehash ends nothing: the same password, no change time.
	s := user.FoldAll([]domain.Event{created, user.PasswordRehashed{PasswordHash: fresh}})
	if s.PasswordHash != fresh || !s.PasswordChangedAt.IsZero() || !s.AuthenticationStands(time.Now().Add(-time.Hour)) {
		t.Errorf("after a rehash: %+v", s)
	}
}
