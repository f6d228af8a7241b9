package scope_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/scope"
)

func TestCreateAndDelete(t *testing.T) {
	now := time.Now()
	create := scope.Create{Environment: "acme-test", Name: "read:documents", Description: "Read documents"}
	env := []domain.Event{environment.Created{Environment: "acme-test", Account: "acme"}}
	got, err := create.Decide([][]domain.Event{nil, env}, now)
	if err != nil || got[0][0] != (scope.Created{Name: "read:documents", Description: "Read documents"}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := create.Decide([][]domain.Event{nil, nil}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown environment: %v", err)
	}
	if _, err := create.Decide([][]domain.Event{{got[0][0]}, env}, now); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Errorf("second create: %v", err)
	}
	for _, bad := range []scope.Create{
		{Environment: "e", Name: "openid", Description: "x"},
		{Environment: "e", Name: "has space", Description: "x"},
		{Environment: "e", Name: "ok", Description: ""},
	} {
		if _, err := bad.Decide([][]domain.Event{nil, env}, now); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := (scope.Delete{Environment: "e", Name: "profile"}).Decide([][]domain.Event{nil}, now); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("deleting a standard scope: %v", err)
	}
	del, err := (scope.Delete{Environment: "e", Name: "read:documents"}).Decide([][]domain.Event{{got[0][0]}}, now)
	if err != nil || scope.Fold([]domain.Event{got[0][0], del[0][0]}).Exists {
		t.Errorf("delete: %v", err)
	}
}
