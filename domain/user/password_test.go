package user_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/user"
)

func fakeHash(plain string) (string, error) { return "sealed:v1:" + plain, nil }

func TestNewPassword(t *testing.T) {
	cases := []struct {
		plain, email string
		wantErr      string
	}{
		{"correct horse battery", "ada@example.com", ""},
		{"ten chars!", "ada@example.com", ""},
		{"short1234", "ada@example.com", "at least 10 characters"},
		{"12345678", "ada@example.com", "at least 10 characters"},
		{"", "ada@example.com", "at least 10 characters"},
		{strings.Repeat("x", 1025), "ada@example.com", "at most 1024 bytes"},
		{"Password123", "ada@example.com", "most common passwords"},
		{"QWERTYUIOP", "ada@example.com", "most common passwords"},
		{"ada.lovelace@example.com", "Ada.Lovelace@example.com", "must not be your email address"},
		{"ada.lovelace", "ada.lovelace@example.com", "must not be your email address"},
		{"ééééééééééé", "ada@example.com", ""}, // runes, not bytes
	}
	for _, c := range cases {
		t.Run(c.plain, func(t *testing.T) {
			p, err := user.NewPassword(c.plain, c.email)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || ve.Field != "password" || !strings.Contains(ve.Message, c.wantErr) {
				t.Errorf("got %v, want a password error with %q", err, c.wantErr)
			}
			if p != (user.Password{}) {
				t.Error("a refused password has a value")
			}
		})
	}
}

func TestPasswordNeverPrints(t *testing.T) {
	p, err := user.NewPassword("correct horse battery", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "password", p)
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", p, p, p, p), logged.String()} {
		if strings.Contains(s, "horse") {
			t.Errorf("the password printed: %s", s)
		}
	}
}

func TestHashedPassword(t *testing.T) {
	p, _ := user.NewPassword("correct horse battery", "Ada@Example.com")
	h, err := user.HashedPassword(p, fakeHash)
	if err != nil || h.IsZero() || !strings.HasPrefix(h.PHC(), user.SealedPrefix) || !h.For("ada@example.com") {
		t.Fatalf("%v %v", h, err)
	}
	// The zero Password (never through NewPassword) is refused before hashing.
	if _, err := user.HashedPassword(user.Password{}, func(string) (string, error) { t.Error("hashed"); return "", nil }); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("zero password: %v", err)
	}
	// The hasher's errors come back wrapped (a busy hasher is not a wrong password).
	busy := errors.New("busy")
	if _, err := user.HashedPassword(p, func(string) (string, error) { return "", busy }); !errors.Is(err, busy) {
		t.Errorf("hasher error: %v", err)
	}
	if _, err := user.HashedPassword(p, func(s string) (string, error) { return s, nil }); !errors.Is(err, domain.ErrInvalid) {
		t.Error("a hash that is not sealed was accepted")
	}
}

// Create needs a hash made from a checked password, checked against the user's own address.
func TestCreateRequiresACheckedPassword(t *testing.T) {
	env := []domain.Event{environment.Created{Environment: "acme-test"}}
	cmd := user.Create{Environment: "acme-test", ID: "user-00001", Email: "ada@example.com", Name: "Ada"}
	if _, err := cmd.Decide([][]domain.Event{nil, nil, env}, time.Now()); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("no password hash: %v", err)
	}
	p, _ := user.NewPassword("ada@example.com-x", "bob@example.com") // fine for Bob, not Ada
	cmd.PasswordHash, _ = user.HashedPassword(p, fakeHash)
	if _, err := cmd.Decide([][]domain.Event{nil, nil, env}, time.Now()); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("a password checked against another address: %v", err)
	}
}
