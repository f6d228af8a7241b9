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
	cmd := user.Create{Environment: "acme-test", ID: "user-00001", Email: "  Ada@Example.COM ", Name: "Ada", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$x$y"}
	if cmd.Streams()[1] != user.EmailStream("acme-test", "ada@example.com") {
		t.Error("email stream must not depend on case or spaces")
	}
	got, err := cmd.Decide([][]domain.Event{nil, nil, env}, now)
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
	c := cmd
	c.PasswordHash = "plaintext"
	if _, err := c.Decide([][]domain.Event{nil, nil, env}, now); !errors.Is(err, domain.ErrInvalid) {
		t.Error("a password that is not an Argon2id hash was accepted")
	}
}
