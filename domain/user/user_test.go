package user_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/user"
)

func TestCreate(t *testing.T) {
	now := time.Now()
	env := []domain.Event{environment.Created{Environment: "acme-test"}}
	pw, err := user.NewPassword("correct horse battery", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := user.HashedPassword(pw, fakeHash)
	if err != nil {
		t.Fatal(err)
	}
	cmd := user.Create{Environment: "acme-test", ID: "user-00001", Email: "  Ada@Example.COM ", Name: "Ada", PasswordHash: hash}
	if cmd.Streams()[1] != user.EmailStream("acme-test", "ada@example.com") {
		t.Error("email stream must not depend on case or spaces")
	}
	var got [][]domain.Event
	got, err = cmd.Decide([][]domain.Event{nil, nil, env}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c := got[0][0].(user.Created); c.Email != "ada@example.com" {
		t.Errorf("email stored as %q", c.Email)
	}
	if _, err := cmd.Decide([][]domain.Event{nil, {user.EmailClaimed{UserID: "other-user"}}, env}, now); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("taken email: %v", err)
	}
	for _, bad := range []string{"nope", "a@", "@b.c", "a b@c.d", "Ada <ada@example.com>", "a@b"} {
		c := cmd
		c.Email = bad
		if _, err := c.Decide([][]domain.Event{nil, nil, env}, now); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%q accepted", bad)
		}
	}
	if c := got[0][0].(user.Created); c.PasswordHash != hash.PHC() {
		t.Errorf("event keeps %q, want the PHC string", c.PasswordHash)
	}
}
