package signingkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
)

// esEnv is an environment created with ES256 keys.
var esEnv = []domain.Event{environment.Created{Environment: "acme-test", Account: "acme",
	Settings: environment.DefaultSettings("acme-test"), SigningAlg: "ES256"}}

// ecMaterial is a fixed stand-in for a generated P-256 key.
func ecMaterial(kid string) signingkey.Material {
	jwk := fmt.Sprintf(`{"alg":"ES256","crv":"P-256","kid":%q,"kty":"EC","use":"sig","x":"xx","y":"yy"}`, kid)
	sealed, err := signingkey.Seal(master, bytes.Repeat([]byte{kid[0]}, signingkey.NonceSize), []byte("pkcs8 of "+kid))
	if err != nil {
		panic(err)
	}
	return signingkey.Material{KID: kid, PublicJWK: json.RawMessage(jwk), SealedPrivate: sealed}
}

func ecCands(kids ...string) []signingkey.Material {
	out := make([]signingkey.Material, len(kids))
	for i, k := range kids {
		out[i] = ecMaterial(k)
	}
	return out
}

func ecCreated(kid string) signingkey.Created {
	m := ecMaterial(kid)
	return signingkey.Created{KID: kid, Alg: "ES256", PublicJWK: m.PublicJWK, PrivateKey: m.SealedPrivate, Role: signingkey.RoleNext}
}

// An environment's keys all have its algorithm: creation, Ensure and Rotate take only
// material of that algorithm and record it on each key.
func TestES256Keys(t *testing.T) {
	full := []domain.Event{ecCreated("a"), promoted("a"), ecCreated("b")}
	retiredA := signingkey.Retired{KID: "a", VerifyUntil: now.Add(3600e9)}
	run(t, []decideCase{
		{"ensure: an ES256 next key", [][]domain.Event{esEnv, {ecCreated("a"), promoted("a")}},
			signingkey.Ensure{Environment: "acme-test", Candidates: ecCands("c")}, []domain.Event{ecCreated("c")}, nil},
		{"ensure: RSA material refused", [][]domain.Event{esEnv, {ecCreated("a"), promoted("a")}},
			signingkey.Ensure{Environment: "acme-test", Candidates: cands("c")}, nil, domain.ErrInvalid},
		{"ensure on an RS256 environment: EC material refused", [][]domain.Event{env, {created("a"), promoted("a")}},
			signingkey.Ensure{Environment: "acme-test", Candidates: ecCands("c")}, nil, domain.ErrInvalid},
		{"rotate keeps ES256", [][]domain.Event{esEnv, full},
			signingkey.Rotate{Environment: "acme-test", Candidates: ecCands("c"), MaxTokenLifetime: 3600e9},
			[]domain.Event{promoted("b"), retiredA, ecCreated("c")}, nil},
		{"rotate: RSA material refused", [][]domain.Event{esEnv, full},
			signingkey.Rotate{Environment: "acme-test", Candidates: cands("c"), MaxTokenLifetime: 3600e9}, nil, domain.ErrInvalid},
	})
}

func TestCreateES256Environment(t *testing.T) {
	create := func(alg string, m ...signingkey.Material) signingkey.CreateEnvironment {
		return signingkey.CreateEnvironment{Create: environment.Create{Account: "acme", Slug: "acme-test", SigningAlg: alg}, Candidates: m}
	}
	got, err := create("ES256", ecMaterial("a")).Decide([][]domain.Event{nil, nil, nil}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c := got[1][0].(environment.Created); c.SigningAlg != "ES256" {
		t.Errorf("environment.created %+v: want signing_alg ES256", c)
	}
	if want := []domain.Event{ecCreated("a"), promoted("a")}; !reflect.DeepEqual(got[2], want) {
		t.Errorf("keys %+v\nwant %+v", got[2], want)
	}
	if st := signingkey.Fold(got[2]); st.Alg != "ES256" || st.Keys["a"].Alg != "ES256" {
		t.Errorf("folded %+v: want ES256", st)
	}
	bad := func(member, value string) signingkey.Material {
		m := ecMaterial("a")
		var j map[string]any
		_ = json.Unmarshal(m.PublicJWK, &j)
		if value == "" {
			delete(j, member)
		} else {
			j[member] = value
		}
		m.PublicJWK, _ = json.Marshal(j)
		return m
	}
	for _, tc := range []struct {
		name string
		cmd  signingkey.CreateEnvironment
		want error
	}{
		{"RSA material for ES256", create("ES256", material("a")), domain.ErrInvalid},
		{"EC material for RS256", create("", ecMaterial("a")), domain.ErrInvalid},
		{"wrong curve", create("ES256", bad("crv", "P-384")), domain.ErrInvalid},
		{"alg member differs", create("ES256", bad("alg", "ES384")), domain.ErrInvalid},
		{"no x", create("ES256", bad("x", "")), domain.ErrInvalid},
		{"private member d", create("ES256", bad("d", "secret")), domain.ErrInvalid},
		{"unknown algorithm", create("PS256", material("a")), domain.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cmd.Decide([][]domain.Event{nil, nil, nil}, now); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}
