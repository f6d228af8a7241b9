package workers_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/internal/keygen"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/workers"
)

var masterKey = bytes.Repeat([]byte{0x5a}, 32)

func TestGenerateMaterial(t *testing.T) {
	m, err := keygen.Material(masterKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]string
	if err := json.Unmarshal(m.PublicJWK, &members); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range members {
		names = append(names, k)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "alg,e,kid,kty,n,use" || members["kid"] != m.KID || members["alg"] != "RS256" || members["use"] != "sig" {
		t.Errorf("public jwk %s", m.PublicJWK)
	}
	pub, err := jwk.ParseKey(m.PublicJWK)
	if err != nil {
		t.Fatal(err)
	}
	pub.Remove(jwk.KeyIDKey) //nolint:errcheck
	thumb, _ := pub.Thumbprint(crypto.SHA256)
	if m.KID != base64.RawURLEncoding.EncodeToString(thumb) || len(m.KID) != 43 {
		t.Errorf("kid %s is not the RFC 7638 thumbprint", m.KID)
	}
	der, err := signingkey.Open(masterKey, m.SealedPrivate)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	var rawPub rsa.PublicKey
	if err := pub.Raw(&rawPub); err != nil || !priv.(*rsa.PrivateKey).PublicKey.Equal(&rawPub) || rawPub.N.BitLen() != 2048 {
		t.Error("sealed private key does not match the public key")
	}
	if bytes.Contains(m.SealedPrivate, der[len(der)/2:][:32]) {
		t.Error("the sealed key holds the private key in clear")
	}
	other, _ := keygen.Material(masterKey, nil)
	if other.KID == m.KID || bytes.Equal(other.SealedPrivate[:signingkey.NonceSize], m.SealedPrivate[:signingkey.NonceSize]) {
		t.Error("two keys share a kid or a nonce")
	}
}

type pgFixture struct {
	store *eventstore.Postgres
	reg   *domain.Registry
	loop  *eventstore.Loop
}

func newPGFixture(t *testing.T) *pgFixture {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := eventstore.NewPostgres(pool, eventstore.PostgresOptions{})
	t.Cleanup(store.Close)
	reg := eventtypes.Registry()
	return &pgFixture{store: store, reg: reg, loop: eventstore.NewLoop(store, reg, time.Now)}
}

func (f *pgFixture) createEnv(t *testing.T, slug string) {
	t.Helper()
	if _, err := f.loop.Execute(t.Context(), environment.Create{Account: "acme", Slug: slug}, system); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects the managers' logs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var system = domain.Actor{Kind: domain.ActorSystem, ID: "test"}

// keyStream reads an environment's key stream: its envelopes and its folded state.
func (f *pgFixture) keyStream(t *testing.T, env string) ([]domain.Envelope, signingkey.State) {
	t.Helper()
	envs, err := f.store.ReadStream(t.Context(), signingkey.Stream(env).Stream)
	if err != nil {
		t.Fatal(err)
	}
	var history []domain.Event
	for _, e := range envs {
		rec, err := f.reg.DecodeEnvelope(e)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, rec.Event)
	}
	return envs, signingkey.Fold(history)
}

// instance is what one server runs for keys: catalog and keys projections and a manager.
type instance struct {
	ring *keys.Keyring
	cat  *catalog.Catalog
	mgr  *workers.KeyManager
}

func (f *pgFixture) instance(ctx context.Context, wg *sync.WaitGroup, start <-chan struct{}, log *slog.Logger) *instance {
	in := &instance{ring: keys.New(masterKey), cat: catalog.New()}
	in.mgr = workers.NewKeyManager(workers.KeyManagerOptions{Loop: f.loop, Keys: in.ring, MasterKey: masterKey, Logger: log,
		Interval: 20 * time.Millisecond, Environments: func() []string {
			var slugs []string
			for _, e := range in.cat.Environments("") {
				slugs = append(slugs, e.Slug)
			}
			return slugs
		}})
	for _, p := range []projections.Projection{in.ring, in.cat} {
		rt := projections.New(projections.Options{Projection: p, Source: f.store, Registry: f.reg, PollInterval: 10 * time.Millisecond})
		wg.Add(1)
		go func() { defer wg.Done(); rt.Run(ctx) }() //nolint:errcheck // ends with ctx
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		in.mgr.Run(ctx) //nolint:errcheck // ends with ctx
	}()
	return in
}

// Three instances' key managers race to give six environments (four before they start, two
// while they run) their keys; each environment ends with exactly one primary and one next,
// and every instance signs with the same primary.
func TestKeyManagersRaceToOnePrimaryAndOneNext(t *testing.T) {
	f := newPGFixture(t)
	var envs []string
	for i := range 4 {
		envs = append(envs, fmt.Sprintf("race-%d", i))
		f.createEnv(t, envs[i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := make(chan struct{})
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var instances []*instance
	for range 3 {
		instances = append(instances, f.instance(ctx, &wg, start, log))
	}
	close(start)
	for _, slug := range []string{"late-0", "late-1"} {
		f.createEnv(t, slug)
		envs = append(envs, slug)
	}

	deadline := time.Now().Add(30 * time.Second)
	for _, in := range instances {
		for _, env := range envs {
			for !in.ring.Complete(env) {
				if time.Now().After(deadline) {
					t.Fatalf("%s has no complete keys after 30s: %+v", env, in.ring.Keys(env))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // ten more rounds of every manager: still nothing to do
	out := logs.String()
	if n := strings.Count(out, "created signing keys"); n != len(envs) {
		t.Errorf("keys created %d times for %d environments:\n%s", n, len(envs), out)
	}
	t.Logf("%d Ensure commands found the keys already there", strings.Count(out, "already there"))
	for _, env := range envs {
		stream, st := f.keyStream(t, env)
		var types []string
		for _, e := range stream {
			types = append(types, e.Type)
		}
		if got := strings.Join(types, " "); got != "signing_key.created signing_key.promoted signing_key.created" {
			t.Errorf("%s: events %s", env, got)
		}
		if !st.Complete() || len(st.Keys) != 2 {
			t.Errorf("%s: state %+v", env, st)
		}
		for i, in := range instances {
			s, err := in.ring.Signer(env)
			if err != nil || s.KID != st.Primary {
				t.Errorf("%s: instance %d signs with %v (%v), want %s", env, i, s, err, st.Primary)
			}
		}
		var actor domain.Actor
		json.Unmarshal(stream[0].Actor, &actor) //nolint:errcheck
		if actor.Kind != domain.ActorSystem || actor.ID != "key-manager" {
			t.Errorf("%s: actor %+v", env, actor)
		}
	}
}
