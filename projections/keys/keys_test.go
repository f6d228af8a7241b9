package keys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/keys"
)

var (
	system = domain.Actor{Kind: domain.ActorSystem, ID: "test"}
	now    = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	master = bytes.Repeat([]byte{0x42}, 32)
)

// generated keeps the clear PKCS#8 of every test key, to prove it never shows up.
var generated struct {
	sync.Mutex
	der [][]byte
}

// material builds a key as the key manager does (workers.GenerateMaterial; projections do
// not import workers).
func material(t *testing.T) signingkey.Material {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	generated.Lock()
	generated.der = append(generated.der, der)
	generated.Unlock()
	nonce := make([]byte, signingkey.NonceSize)
	rand.Read(nonce) //nolint:errcheck // never fails
	sealed, err := signingkey.Seal(master, nonce, der)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := jwk.FromRaw(&priv.PublicKey)
	thumb, _ := pub.Thumbprint(crypto.SHA256)
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	pub.Set(jwk.KeyIDKey, kid)           //nolint:errcheck
	pub.Set(jwk.AlgorithmKey, jwa.RS256) //nolint:errcheck
	pub.Set(jwk.KeyUsageKey, "sig")      //nolint:errcheck
	b, _ := json.Marshal(pub)
	return signingkey.Material{KID: kid, PublicJWK: b, SealedPrivate: sealed}
}

type fixture struct {
	store *eventstore.Memory
	reg   *domain.Registry
	loop  *eventstore.Loop
}

func newFixture(t *testing.T, envs ...string) *fixture {
	t.Helper()
	f := &fixture{store: eventstore.NewMemory(), reg: eventtypes.Registry()}
	f.loop = eventstore.NewLoop(f.store, f.reg, func() time.Time { return now })
	for _, env := range envs {
		if _, err := f.loop.Execute(t.Context(), environment.Create{Account: "acme", Slug: env}, system); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) exec(t *testing.T, cmd domain.Command) int64 {
	t.Helper()
	res, err := f.loop.Execute(t.Context(), cmd, system)
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

func (f *fixture) ensure(t *testing.T, env string) int64 {
	t.Helper()
	return f.exec(t, signingkey.Ensure{Environment: env, Candidates: []signingkey.Material{material(t), material(t)}})
}

func (f *fixture) rotate(t *testing.T, env string) int64 {
	t.Helper()
	return f.exec(t, signingkey.Rotate{Environment: env, Candidates: []signingkey.Material{material(t)}, MaxTokenLifetime: time.Hour})
}

// start runs a runtime for ring over the fixture's store and waits for pos.
func (f *fixture) start(t *testing.T, ring *keys.Keyring, pos int64) *projections.Runtime {
	t.Helper()
	rt := projections.New(projections.Options{Projection: ring, Source: f.store, Registry: f.reg, PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	f.wait(t, rt, pos)
	for deadline := time.Now().Add(5 * time.Second); !rt.Status().Ready && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return rt
}

func (f *fixture) wait(t *testing.T, rt *projections.Runtime, pos int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := rt.WaitFor(ctx, pos); err != nil {
		t.Fatal(err)
	}
}

func kids(set jwk.Set) []string {
	var out []string
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		out = append(out, k.KeyID())
	}
	return out
}

func roles(infos []keys.KeyInfo) map[signingkey.Role][]string {
	out := map[signingkey.Role][]string{}
	for _, k := range infos {
		out[k.Role] = append(out[k.Role], k.KID)
	}
	return out
}

func TestKeyringSignsAndPublishes(t *testing.T) {
	f := newFixture(t, "acme-test")
	ring := keys.New(master)
	f.start(t, ring, f.ensure(t, "acme-test"))

	r := roles(ring.Keys("acme-test"))
	if len(r[signingkey.RolePrimary]) != 1 || len(r[signingkey.RoleNext]) != 1 || !ring.Complete("acme-test") {
		t.Fatalf("keys %+v", ring.Keys("acme-test"))
	}
	primary, next := r[signingkey.RolePrimary][0], r[signingkey.RoleNext][0]
	key, err := ring.SigningKey("acme-test")
	if err != nil {
		t.Fatal(err)
	}
	if isPriv, _ := jwk.IsPrivateKey(key); !isPriv || key.KeyID() != primary || key.Algorithm() != jwa.RS256 {
		t.Fatalf("signing key kid %s alg %s private %v", key.KeyID(), key.Algorithm(), isPriv)
	}
	again, _ := ring.SigningKey("acme-test")
	if again != key {
		t.Error("the signing key is parsed again on every call")
	}

	token, err := jws.Sign([]byte(`{"sub":"u1"}`), jws.WithKey(jwa.RS256, key))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := jws.Parse(token)
	if got := msg.Signatures()[0].ProtectedHeaders().KeyID(); got != primary {
		t.Errorf("token kid %q, want %q", got, primary)
	}
	if _, err := jws.Verify(token, jws.WithKeySet(ring.VerificationKeys("acme-test", now))); err != nil {
		t.Errorf("verify with the environment's keys: %v", err)
	}
	if got := kids(ring.VerificationKeys("acme-test", now)); len(got) != 2 || got[0] != primary || got[1] != next {
		t.Errorf("verification keys %v, want primary %s then next %s", got, primary, next)
	}
	checkJWKS(t, ring, "acme-test", now, primary, next)
}

// checkJWKS checks the document's keys, in order, and that each has exactly the public
// members.
func checkJWKS(t *testing.T, ring *keys.Keyring, env string, at time.Time, want ...string) {
	t.Helper()
	doc, err := ring.JWKS(env, at)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatalf("jwks %s: %v", doc, err)
	}
	if len(parsed.Keys) != len(want) {
		t.Fatalf("jwks has %d keys, want %d: %s", len(parsed.Keys), len(want), doc)
	}
	for i, k := range parsed.Keys {
		var members []string
		for m := range k {
			members = append(members, m)
		}
		sort.Strings(members)
		if strings.Join(members, ",") != "alg,e,kid,kty,n,use" || k["kid"] != want[i] || k["alg"] != "RS256" || k["use"] != "sig" {
			t.Errorf("jwks key %d: %v, want kid %s with alg,e,kid,kty,n,use", i, k, want[i])
		}
	}
	if _, err := jwk.Parse(doc); err != nil {
		t.Errorf("jwx cannot read the jwks: %v", err)
	}
}
