package signingkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
)

var (
	now    = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	master = bytes.Repeat([]byte{7}, signingkey.MasterKeySize)
	env    = []domain.Event{environment.Created{Environment: "acme-test", Account: "acme", Settings: environment.DefaultSettings("acme-test")}}
)

// material is a fixed stand-in for a generated key: the domain checks shape, not math.
func material(kid string) signingkey.Material {
	jwk := fmt.Sprintf(`{"alg":"RS256","e":"AQAB","kid":%q,"kty":"RSA","n":"xyz","use":"sig"}`, kid)
	sealed, err := signingkey.Seal(master, bytes.Repeat([]byte{kid[0]}, signingkey.NonceSize), []byte("pkcs8 of "+kid))
	if err != nil {
		panic(err)
	}
	return signingkey.Material{KID: kid, PublicJWK: json.RawMessage(jwk), SealedPrivate: sealed}
}

func created(kid string) signingkey.Created {
	m := material(kid)
	return signingkey.Created{KID: kid, Alg: "RS256", PublicJWK: m.PublicJWK, PrivateKey: m.SealedPrivate, Role: signingkey.RoleNext}
}

func promoted(kid string) signingkey.Promoted { return signingkey.Promoted{KID: kid} }

func cands(kids ...string) []signingkey.Material {
	out := make([]signingkey.Material, len(kids))
	for i, k := range kids {
		out[i] = material(k)
	}
	return out
}

type decideCase struct {
	name    string
	given   [][]domain.Event
	cmd     domain.Command
	want    []domain.Event // on the keys stream
	wantErr error
}

func run(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cmd.Decide(tc.given, now)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if len(got) != 2 || len(got[0]) != 0 {
				t.Fatalf("decided %+v: want events on the keys stream only", got)
			}
			if !reflect.DeepEqual(got[1], tc.want) {
				t.Errorf("events %+v\nwant %+v", got[1], tc.want)
			}
		})
	}
}

func TestEnsure(t *testing.T) {
	full := []domain.Event{created("a"), promoted("a"), created("b")}
	ensure := func(kids ...string) signingkey.Ensure {
		return signingkey.Ensure{Environment: "acme-test", Candidates: cands(kids...)}
	}
	run(t, []decideCase{
		{"no keys: a primary and a next", [][]domain.Event{env, nil}, ensure("a", "b", "c"),
			[]domain.Event{created("a"), promoted("a"), created("b")}, nil},
		{"complete: nothing", [][]domain.Event{env, full}, ensure("c", "d"), nil, nil},
		{"primary without next: a next", [][]domain.Event{env, {created("a"), promoted("a")}}, ensure("c", "d"),
			[]domain.Event{created("c")}, nil},
		{"next without primary: promote it, add a next", [][]domain.Event{env, {created("a")}}, ensure("c"),
			[]domain.Event{promoted("a"), created("c")}, nil},
		{"after a rotation: nothing", [][]domain.Event{env, append(full, promoted("b"),
			signingkey.Retired{KID: "a", VerifyUntil: now}, created("c"))}, ensure("d", "e"), nil, nil},
		{"too few candidates", [][]domain.Event{env, nil}, ensure("a"), nil, domain.ErrInvalid},
		{"no candidates", [][]domain.Event{env, nil}, ensure(), nil, domain.ErrInvalid},
		{"kid taken", [][]domain.Event{env, {created("a"), promoted("a")}}, ensure("a"), nil, domain.ErrInvalid},
		{"same kid twice", [][]domain.Event{env, nil}, ensure("a", "a"), nil, domain.ErrInvalid},
		{"unknown environment", [][]domain.Event{nil, nil}, ensure("a", "b"), nil, domain.ErrNotFound},
	})
}

func TestRotate(t *testing.T) {
	full := []domain.Event{created("a"), promoted("a"), created("b")}
	rotate := func(kids ...string) signingkey.Rotate {
		return signingkey.Rotate{Environment: "acme-test", Candidates: cands(kids...), MaxTokenLifetime: time.Hour}
	}
	retiredA := signingkey.Retired{KID: "a", VerifyUntil: now.Add(time.Hour)}
	run(t, []decideCase{
		{"promotes next, retires primary, adds a next", [][]domain.Event{env, full}, rotate("c", "d"),
			[]domain.Event{promoted("b"), retiredA, created("c")}, nil},
		{"without a next: promotes a new key and adds a next", [][]domain.Event{env, {created("a"), promoted("a")}},
			rotate("c", "d"), []domain.Event{created("c"), promoted("c"), retiredA, created("d")}, nil},
		{"without a next, one candidate is not enough", [][]domain.Event{env, {created("a"), promoted("a")}},
			rotate("c"), nil, domain.ErrInvalid},
		{"no keys yet: first primary and next", [][]domain.Event{env, nil}, rotate("c", "d"),
			[]domain.Event{created("c"), promoted("c"), created("d")}, nil},
		{"twice", [][]domain.Event{env, append(full, promoted("b"), retiredA, created("c"))}, rotate("d"),
			[]domain.Event{promoted("c"), signingkey.Retired{KID: "b", VerifyUntil: now.Add(time.Hour)}, created("d")}, nil},
		{"no lifetime", [][]domain.Event{env, full}, signingkey.Rotate{Environment: "acme-test", Candidates: cands("c")},
			nil, domain.ErrInvalid},
		{"candidate reuses a kid", [][]domain.Event{env, full}, rotate("a"), nil, domain.ErrInvalid},
		{"unknown environment", [][]domain.Event{nil, nil}, rotate("c", "d"), nil, domain.ErrNotFound},
	})
}

func TestMaterialIsChecked(t *testing.T) {
	good := material("k1")
	bad := map[string]func(m *signingkey.Material){
		"empty kid":         func(m *signingkey.Material) { m.KID = "" },
		"kid with a slash":  func(m *signingkey.Material) { m.KID = "a/b" },
		"jwk not an object": func(m *signingkey.Material) { m.PublicJWK = json.RawMessage(`[1]`) },
		"jwk names another kid": func(m *signingkey.Material) {
			m.PublicJWK = json.RawMessage(`{"alg":"RS256","e":"AQAB","kid":"other","kty":"RSA","n":"xyz"}`)
		},
		"private key in clear in the jwk": func(m *signingkey.Material) {
			m.PublicJWK = json.RawMessage(`{"alg":"RS256","d":"secret","e":"AQAB","kid":"k1","kty":"RSA","n":"xyz"}`)
		},
		"not RSA": func(m *signingkey.Material) {
			m.PublicJWK = json.RawMessage(`{"alg":"RS256","crv":"P-256","kid":"k1","kty":"EC","x":"a","y":"b"}`)
		},
		"no modulus":        func(m *signingkey.Material) { m.PublicJWK = json.RawMessage(`{"alg":"RS256","kid":"k1","kty":"RSA"}`) },
		"no sealed private": func(m *signingkey.Material) { m.SealedPrivate = nil },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			m := good
			mutate(&m)
			cmd := signingkey.Ensure{Environment: "acme-test", Candidates: []signingkey.Material{m, material("k2")}}
			if _, err := cmd.Decide([][]domain.Event{env, nil}, now); !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("error %v, want invalid", err)
			}
		})
	}
}

func TestFold(t *testing.T) {
	until := now.Add(time.Hour)
	s := signingkey.Fold([]domain.Event{created("a"), promoted("a"), created("b"), promoted("b"),
		signingkey.Retired{KID: "a", VerifyUntil: until}, created("c")})
	want := signingkey.State{Primary: "b", Next: "c", Alg: "RS256", Keys: map[string]signingkey.Key{
		"a": {KID: "a", Alg: "RS256", Role: signingkey.RoleRetired, VerifyUntil: until},
		"b": {KID: "b", Alg: "RS256", Role: signingkey.RolePrimary},
		"c": {KID: "c", Alg: "RS256", Role: signingkey.RoleNext},
	}}
	if !reflect.DeepEqual(s, want) || !s.Complete() {
		t.Errorf("fold %+v\nwant %+v", s, want)
	}
	if signingkey.Fold(nil).Complete() {
		t.Error("an empty stream is complete")
	}
}

func TestEventsCarryNoPrivateKeyInClear(t *testing.T) {
	got, err := signingkey.Ensure{Environment: "acme-test", Candidates: cands("a", "b")}.Decide([][]domain.Event{env, nil}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got[1] {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), "pkcs8 of") {
			t.Errorf("%s carries the private key in clear: %s", e.EventType(), b)
		}
	}
}

func TestSealOpen(t *testing.T) {
	nonce := bytes.Repeat([]byte{1}, signingkey.NonceSize)
	sealed, err := signingkey.Seal(master, nonce, []byte("private"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, nonce) || bytes.Contains(sealed, []byte("private")) {
		t.Fatalf("sealed %x", sealed)
	}
	if plain, err := signingkey.Open(master, sealed); err != nil || string(plain) != "private" {
		t.Fatalf("open: %q %v", plain, err)
	}
	other := bytes.Repeat([]byte{8}, signingkey.MasterKeySize)
	if _, err := signingkey.Open(other, sealed); !errors.Is(err, signingkey.ErrWrongMasterKey) {
		t.Errorf("wrong master key: %v", err)
	}
	altered := bytes.Clone(sealed)
	altered[len(altered)-1] ^= 1
	if _, err := signingkey.Open(master, altered); !errors.Is(err, signingkey.ErrWrongMasterKey) {
		t.Errorf("altered: %v", err)
	}
	for name, f := range map[string]func() error{
		"short master key": func() error { _, err := signingkey.Seal(master[:16], nonce, nil); return err },
		"short nonce":      func() error { _, err := signingkey.Seal(master, nonce[:8], nil); return err },
		"truncated":        func() error { _, err := signingkey.Open(master, sealed[:20]); return err },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// An environment is created with its keys in one decision, or not at all.
func TestCreateEnvironment(t *testing.T) {
	create := func(slug string, kids ...string) signingkey.CreateEnvironment {
		return signingkey.CreateEnvironment{Create: environment.Create{Account: "acme", Slug: slug}, Candidates: cands(kids...)}
	}
	got, err := create("acme-test", "a", "b").Decide([][]domain.Event{nil, nil, nil}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(got[0]) != 1 || len(got[1]) != 1 {
		t.Fatalf("decided %+v: want the account, the environment and its keys", got)
	}
	if c, ok := got[1][0].(environment.Created); !ok || c.Environment != "acme-test" {
		t.Errorf("environment stream: %+v", got[1])
	}
	if want := []domain.Event{created("a"), promoted("a"), created("b")}; !reflect.DeepEqual(got[2], want) {
		t.Errorf("keys %+v\nwant %+v", got[2], want)
	}
	// One candidate: the primary alone; Ensure adds the next key later with one more.
	got, err = create("acme-test", "a").Decide([][]domain.Event{nil, nil, nil}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []domain.Event{created("a"), promoted("a")}; !reflect.DeepEqual(got[2], want) {
		t.Errorf("keys with one candidate %+v\nwant %+v", got[2], want)
	}
	st := signingkey.Fold(got[2])
	if st.Primary != "a" || signingkey.Needed(st) != 1 {
		t.Errorf("state %+v, needed %d; want primary a and one key needed", st, signingkey.Needed(st))
	}
	next, err := signingkey.Ensure{Environment: "acme-test", Candidates: cands("b")}.Decide([][]domain.Event{env, got[2]}, now)
	if err != nil || !reflect.DeepEqual(next[1], []domain.Event{created("b")}) {
		t.Errorf("ensure after a primary-only creation: %+v, %v; want b created as next", next, err)
	}
	for _, tc := range []struct {
		name  string
		cmd   signingkey.CreateEnvironment
		given [][]domain.Event
		want  error
	}{
		{"no candidate", create("acme-test"), [][]domain.Event{nil, nil, nil}, domain.ErrInvalid},
		{"slug taken", create("acme-test", "a", "b"), [][]domain.Event{nil, env, nil}, environment.ErrSlugTaken},
		{"bad slug", create("Acme", "a", "b"), [][]domain.Event{nil, nil, nil}, domain.ErrInvalid},
		{"bad key", signingkey.CreateEnvironment{Create: environment.Create{Account: "acme", Slug: "acme-test"},
			Candidates: []signingkey.Material{{KID: "a"}, material("b")}}, [][]domain.Event{nil, nil, nil}, domain.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cmd.Decide(tc.given, now); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}
