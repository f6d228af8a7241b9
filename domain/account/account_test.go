package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/environment"
)

func TestOperators(t *testing.T) {
	created := []domain.Event{account.Created{Account: "acme", Name: "acme"}}
	now := time.Now()
	if _, err := (account.AddOperator{Account: "nope", UserID: "u1"}).Decide([][]domain.Event{nil}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	out, err := account.AddOperator{Account: "acme", UserID: "u1", Email: "op@acme.test"}.Decide([][]domain.Event{created}, now)
	if err != nil || len(out[0]) != 1 || out[0][0] != (account.OperatorAdded{UserID: "u1", Email: "op@acme.test"}) {
		t.Fatalf("add: %v %v", out, err)
	}
	history := append(created, out[0]...)
	if again, err := (account.AddOperator{Account: "acme", UserID: "u1"}).Decide([][]domain.Event{history}, now); err != nil || len(again[0]) != 0 {
		t.Fatalf("adding twice appends nothing: %v %v", again, err)
	}
	if _, err := (account.RemoveOperator{Account: "acme", UserID: "u1"}).Decide([][]domain.Event{history}, now); !errors.Is(err, account.ErrLastOperator) {
		t.Fatalf("removing the last operator: %v", err)
	}
	history = append(history, account.OperatorAdded{UserID: "u2", Email: "two@acme.test"})
	out, err = account.RemoveOperator{Account: "acme", UserID: "u1"}.Decide([][]domain.Event{history}, now)
	if err != nil || len(out[0]) != 1 {
		t.Fatalf("remove: %v %v", out, err)
	}
	if s := account.Fold(append(history, out[0]...)); s.Operators["u1"] || !s.Operators["u2"] {
		t.Fatal("wrong operators after removal")
	}
	system := []domain.Event{account.Created{Account: domain.OperatorsAccount}}
	if _, err := (account.AddOperator{Account: domain.OperatorsAccount, UserID: "u1"}).Decide([][]domain.Event{system}, now); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("an operator of the operators' account: %v", err)
	}
	if _, err := (account.RemoveOperator{Account: "acme", UserID: "u3"}).Decide([][]domain.Event{history}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("removing a stranger: %v", err)
	}
}

// Only the system creates the operators' environment; tenants cannot take its slug, and the
// system flag cannot create any other reserved environment.
func TestOperatorsEnvironmentIsReserved(t *testing.T) {
	now := time.Now()
	for name, cmd := range map[string]environment.Create{
		"tenant takes the slug":       {Account: "acme", Slug: domain.OperatorsEnvironment},
		"tenant takes the account":    {Account: domain.OperatorsAccount, Slug: "ops"},
		"system elsewhere":            {Account: "acme", Slug: "acme-test", System: true},
		"system with a reserved slug": {Account: domain.OperatorsAccount, Slug: "dashboard", System: true},
	} {
		if _, err := cmd.Decide([][]domain.Event{nil, nil}, now); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	out, err := environment.Create{Account: domain.OperatorsAccount, Slug: domain.OperatorsEnvironment, System: true}.Decide([][]domain.Event{nil, nil}, now)
	if err != nil || len(out[0]) != 1 || len(out[1]) != 1 {
		t.Fatalf("system create: %v %v", out, err)
	}
}
