package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/paylent/paylent/domain"
)

type renamedV2 struct {
	FullName string `json:"full_name"`
}

func (renamedV2) EventType() string { return "thing.renamed" }

func TestRegistryUpcastsOldVersions(t *testing.T) {
	r := domain.NewRegistry()
	domain.Register[renamedV2](r, 2, func(b []byte) ([]byte, error) {
		var v1 struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(b, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(renamedV2{FullName: v1.Name})
	})
	e, err := r.Decode("thing.renamed", 1, []byte(`{"name":"Ada"}`))
	if err != nil || e.(renamedV2).FullName != "Ada" {
		t.Fatalf("upcast v1: %+v %v", e, err)
	}
	typ, ver, data, err := r.Encode(renamedV2{FullName: "Bo"})
	if err != nil || typ != "thing.renamed" || ver != 2 || string(data) != `{"full_name":"Bo"}` {
		t.Errorf("encode: %s %d %s %v", typ, ver, data, err)
	}
}

func TestRegistryRefusesWhatItCannotRead(t *testing.T) {
	r := domain.NewRegistry()
	domain.Register[renamedV2](r, 2, func(b []byte) ([]byte, error) { return b, nil })
	cases := []struct {
		typ  string
		ver  int
		data string
		want error
	}{
		{"thing.vanished", 1, `{}`, domain.ErrUnknownEvent},
		{"thing.renamed", 3, `{}`, domain.ErrUnknownEvent},
		{"thing.renamed", 0, `{}`, domain.ErrUnknownEvent},
		{"thing.renamed", 2, `{"full_name": 7}`, domain.ErrMalformedEvent},
		{"thing.renamed", 2, `not json`, domain.ErrMalformedEvent},
	}
	for _, c := range cases {
		if _, err := r.Decode(c.typ, c.ver, []byte(c.data)); !errors.Is(err, c.want) {
			t.Errorf("decode %s v%d %s: %v, want %v", c.typ, c.ver, c.data, err, c.want)
		}
	}
	_, err := r.DecodeEnvelope(domain.Envelope{Position: 42, Type: "thing.vanished", SchemaVersion: 1, Data: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "position 42") {
		t.Errorf("envelope error must name the position: %v", err)
	}
}

func TestValidateSlug(t *testing.T) {
	for _, ok := range []string{"acme", "acme-test", "examples-dev", "a1", "x-1-y"} {
		if err := domain.ValidateSlug("slug", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "Acme", "1acme", "acme-", "-acme", "ac--me", "ac_me", "ac.me", "dashboard", strings.Repeat("a", 41), "acmé"} {
		if err := domain.ValidateSlug("slug", bad); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzValidateSlug(f *testing.F) {
	for _, s := range []string{"acme-test", "examples-dev", "a--b", "-", "Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if domain.ValidateSlug("slug", s) != nil {
			return
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("accepted %q with %q", s, c)
			}
		}
		if strings.Contains(s, "--") || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") {
			t.Fatalf("accepted %q", s)
		}
	})
}
