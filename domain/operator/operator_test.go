package operator_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/operator"
	"github.com/paylent/paylent/domain/user"
)

func types(out [][]domain.Event) [][]string {
	res := make([][]string, len(out))
	for i, evs := range out {
		for _, e := range evs {
			res[i] = append(res[i], e.EventType())
		}
	}
	return res
}

// A new address becomes a user and an operator in one decision; either refusal refuses both.
func TestAdd(t *testing.T) {
	now := time.Now()
	acme := []domain.Event{account.Created{Account: "acme"}}
	opsEnv := []domain.Event{environment.Created{Environment: domain.OperatorsEnvironment, Account: domain.OperatorsAccount}}
	pw, err := user.NewPassword("correct horse battery", "ops@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := user.HashedPassword(pw, func(string) (string, error) { return "sealed:v1:aGFzaA", nil })
	if err != nil {
		t.Fatal(err)
	}
	newUser := &user.Create{Environment: domain.OperatorsEnvironment, ID: "user-00001", Email: "ops@acme.example", Name: "Ops", PasswordHash: hash}
	add := operator.Add{Account: "acme", UserID: "user-00001", Email: "Ops@Acme.example", NewUser: newUser}
	out, err := add.Decide([][]domain.Event{acme, nil, nil, opsEnv}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := types(out), [][]string{{"account.operator_added"}, {"user.created"}, {"user.email_claimed"}, nil}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if e := out[0][0].(account.OperatorAdded); e.Email != "ops@acme.example" {
		t.Errorf("operator's email %q", e.Email)
	}
	// An existing user: the account's event alone.
	existing := operator.Add{Account: "acme", UserID: "user-00009", Email: "old@acme.example"}
	if out, err := existing.Decide([][]domain.Event{acme}, now); err != nil || len(out) != 1 || len(out[0]) != 1 {
		t.Errorf("existing user: %v %v", types(out), err)
	}
	for name, tc := range map[string]struct {
		cmd   operator.Add
		given [][]domain.Event
		want  error
	}{
		"no such account":      {add, [][]domain.Event{nil, nil, nil, opsEnv}, domain.ErrNotFound},
		"the operators' own":   {operator.Add{Account: domain.OperatorsAccount, UserID: "user-00001", NewUser: newUser}, [][]domain.Event{{account.Created{Account: domain.OperatorsAccount}}, nil, nil, opsEnv}, domain.ErrInvalid},
		"address taken":        {add, [][]domain.Event{acme, nil, {user.EmailClaimed{UserID: "someone"}}, opsEnv}, domain.ErrAlreadyExists},
		"user is someone else": {operator.Add{Account: "acme", UserID: "user-00002", NewUser: newUser}, [][]domain.Event{acme, nil, nil, opsEnv}, domain.ErrInvalid},
	} {
		if _, err := tc.cmd.Decide(tc.given, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
