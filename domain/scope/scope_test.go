package scope_test

import (
	"errors"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/resource"
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

func TestUpdate(t *testing.T) {
	now := time.Now()
	created := scope.Created{Name: "read:documents", Description: "Read documents"}
	api := []domain.Event{resource.Created{Identifier: "https://api.example.com", Name: "API"}}
	str := func(s string) *string { return &s }
	cases := []struct {
		name string
		cmd  scope.Update
		h    [][]domain.Event
		want []domain.Event
		err  error
	}{
		{"description", scope.Update{Name: "read:documents", Description: str("Read every document")},
			[][]domain.Event{{created}}, []domain.Event{scope.Updated{Name: "read:documents", Description: "Read every document"}}, nil},
		{"to an API", scope.Update{Name: "read:documents", API: str("https://api.example.com")},
			[][]domain.Event{{created}, api},
			[]domain.Event{scope.Updated{Name: "read:documents", Description: "Read documents", API: "https://api.example.com"}}, nil},
		{"out of its API", scope.Update{Name: "read:documents", API: str("")},
			[][]domain.Event{{created, scope.Updated{Name: "read:documents", Description: "Read documents", API: "https://api.example.com"}}},
			[]domain.Event{scope.Updated{Name: "read:documents", Description: "Read documents"}}, nil},
		{"nothing changes", scope.Update{Name: "read:documents", Description: str("Read documents")},
			[][]domain.Event{{created}}, nil, nil},
		{"an unknown API", scope.Update{Name: "read:documents", API: str("https://nope.example.com")},
			[][]domain.Event{{created}, nil}, nil, domain.ErrInvalid},
		{"an empty description", scope.Update{Name: "read:documents", Description: str("")},
			[][]domain.Event{{created}}, nil, domain.ErrInvalid},
		{"a standard scope", scope.Update{Name: "openid", Description: str("x")}, [][]domain.Event{nil}, nil, domain.ErrInvalid},
		{"no such scope", scope.Update{Name: "read:documents", Description: str("x")}, [][]domain.Event{nil}, nil, domain.ErrNotFound},
		{"a deleted scope", scope.Update{Name: "read:documents", Description: str("x")},
			[][]domain.Event{{created, scope.Deleted{Name: "read:documents"}}}, nil, domain.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Decide(tc.h, now)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if len(got[0]) != len(tc.want) || (len(tc.want) == 1 && got[0][0] != tc.want[0]) {
				t.Errorf("events %v, want %v", got[0], tc.want)
			}
			if s := scope.Fold(append(tc.h[0], got[0]...)); len(tc.want) == 1 && (s.API != tc.want[0].(scope.Updated).API || !s.Exists) {
				t.Errorf("folded %+v", s)
			}
		})
	}
}
