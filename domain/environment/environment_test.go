package environment_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/environment"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestCreate(t *testing.T) {
	acme := account.Created{Account: "acme", Name: "acme"}
	created := environment.Created{Environment: "acme-test", Account: "acme", Settings: environment.DefaultSettings("acme-test"), SigningAlg: "RS256"}
	es256 := created
	es256.SigningAlg = "ES256"
	tests := []struct {
		name    string
		given   [][]domain.Event
		cmd     environment.Create
		want    [][]domain.Event
		wantErr error
	}{
		{"creates the account on first use", [][]domain.Event{nil, nil},
			environment.Create{Account: "acme", Slug: "acme-test"},
			[][]domain.Event{{acme}, {created}}, nil},
		{"reuses an existing account", [][]domain.Event{{acme}, nil},
			environment.Create{Account: "acme", Slug: "acme-test"},
			[][]domain.Event{nil, {created}}, nil},
		{"slug taken", [][]domain.Event{{acme}, {created}},
			environment.Create{Account: "acme", Slug: "acme-test"}, nil, domain.ErrAlreadyExists},
		{"bad slug", [][]domain.Event{nil, nil},
			environment.Create{Account: "acme", Slug: "Acme_Test"}, nil, domain.ErrInvalid},
		{"reserved slug", [][]domain.Event{nil, nil},
			environment.Create{Account: "acme", Slug: "dashboard"}, nil, domain.ErrInvalid},
		{"ES256 keys", [][]domain.Event{{acme}, nil},
			environment.Create{Account: "acme", Slug: "acme-test", SigningAlg: "ES256"},
			[][]domain.Event{nil, {es256}}, nil},
		{"RS256 named", [][]domain.Event{{acme}, nil},
			environment.Create{Account: "acme", Slug: "acme-test", SigningAlg: "RS256"},
			[][]domain.Event{nil, {created}}, nil},
		{"unknown signing algorithm", [][]domain.Event{{acme}, nil},
			environment.Create{Account: "acme", Slug: "acme-test", SigningAlg: "HS256"}, nil, domain.ErrInvalid},
		{"signing algorithm in lower case", [][]domain.Event{{acme}, nil},
			environment.Create{Account: "acme", Slug: "acme-test", SigningAlg: "es256"}, nil, domain.ErrInvalid},
		{"bad account", [][]domain.Event{nil, nil},
			environment.Create{Account: "-x", Slug: "acme-test"}, nil, domain.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Decide(tc.given, now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A v1 environment.created has no signing_alg: it folds as RS256.
func TestSigningAlgOfOldEvents(t *testing.T) {
	old := environment.Created{Environment: "acme-test", Account: "acme", Settings: environment.DefaultSettings("acme-test")}
	if got := environment.Fold([]domain.Event{old}).SigningAlg; got != "RS256" {
		t.Errorf("v1 event folds to %q, want RS256", got)
	}
	old.SigningAlg = "ES256"
	if got := environment.Fold([]domain.Event{old}).SigningAlg; got != "ES256" {
		t.Errorf("ES256 event folds to %q", got)
	}
}

func TestDefaultSettings(t *testing.T) {
	s := environment.DefaultSettings("x")
	if s.AccessTokenTTL() != time.Hour || s.SessionTTL() != 30*24*time.Hour || !s.RegistrationEnabled || s.TokenFormat != environment.TokenJWT {
		t.Errorf("defaults %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestChangeSettings(t *testing.T) {
	created := environment.Created{Environment: "e1", Account: "a1", Settings: environment.DefaultSettings("e1")}
	opaque := environment.TokenOpaque
	short := int64(120)
	tooShort := int64(5)
	bogus := environment.TokenFormat("saml")
	changed := created.Settings
	changed.TokenFormat, changed.AccessTokenLifetime = opaque, short

	got, err := environment.ChangeSettings{Slug: "e1", Patch: environment.SettingsPatch{TokenFormat: &opaque, AccessTokenLifetime: &short}}.
		Decide([][]domain.Event{{created}}, now)
	if err != nil || !reflect.DeepEqual(got, [][]domain.Event{{environment.SettingsChanged{Settings: changed}}}) {
		t.Errorf("change: %+v %v", got, err)
	}
	got, err = environment.ChangeSettings{Slug: "e1"}.Decide([][]domain.Event{{created}}, now)
	if err != nil || len(got[0]) != 0 {
		t.Errorf("empty patch appended %+v %v", got, err)
	}
	for name, p := range map[string]environment.SettingsPatch{
		"short lifetime": {AccessTokenLifetime: &tooShort},
		"bad format":     {TokenFormat: &bogus},
	} {
		var verr *domain.ValidationError
		if _, err := (environment.ChangeSettings{Slug: "e1", Patch: p}).Decide([][]domain.Event{{created}}, now); !errors.As(err, &verr) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	if _, err := (environment.ChangeSettings{Slug: "nope"}).Decide([][]domain.Event{nil}, now); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown environment: %v", err)
	}
	s := environment.Fold([]domain.Event{created, environment.SettingsChanged{Settings: changed}})
	if s.Settings != changed || s.Account != "a1" {
		t.Errorf("fold %+v", s)
	}
}
