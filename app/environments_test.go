package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/internal/keygen"
)

// An environment can sign and publishes a key from the append that creates it: its keys
// read model has a primary at once, its JWKS is never empty. The next key follows from the
// key manager (signingkey.Ensure with one more key).
func TestCreatedEnvironmentHasAPrimaryAtOnce(t *testing.T) {
	h := apptest.New(t)
	h.Environment(t, "acme", env)
	infos := h.Keys.Keys(env)
	if len(infos) != 1 || infos[0].Role != signingkey.RolePrimary {
		t.Fatalf("keys right after creation: %+v; want one primary", infos)
	}
	if _, err := h.Keys.Signer(env); err != nil {
		t.Fatalf("no signer right after creation: %v", err)
	}
	jwks, err := h.Keys.JWKS(env, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &doc); err != nil || len(doc.Keys) != 1 || doc.Keys[0]["kid"] != infos[0].KID {
		t.Fatalf("JWKS right after creation %s (%v); want the primary", jwks, err)
	}
	if h.Keys.Complete(env) {
		t.Fatal("complete without a next key")
	}
	next, err := keygen.Generate(apptest.MasterKey, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.Run(t, signingkey.Ensure{Environment: env, Candidates: next})
	if !h.Keys.Complete(env) {
		t.Fatalf("keys after the key manager's Ensure: %+v; want a primary and a next", h.Keys.Keys(env))
	}
}

// WithNextKey makes both keys in the creation's append.
func TestCreateEnvironmentWithNextKey(t *testing.T) {
	h := apptest.New(t)
	if _, err := h.App.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: "acme", Slug: env, WithNextKey: true}, apptest.Operator); err != nil {
		t.Fatal(err)
	}
	if !h.Keys.Complete(env) {
		t.Fatalf("keys %+v; want a primary and a next key at once", h.Keys.Keys(env))
	}
}

// With a running pool, creation takes its key from the pool and generates nothing inline.
func TestCreateEnvironmentTakesKeysFromThePool(t *testing.T) {
	h := apptest.New(t)
	pool := keygen.NewPool(keygen.PoolOptions{MasterKey: apptest.MasterKey, Size: 3})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { pool.Run(ctx) }) //nolint:errcheck // Run returns nil
	t.Cleanup(func() { cancel(); wg.Wait() })
	for deadline := time.Now().Add(30 * time.Second); pool.Stats().Available < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pool did not fill")
		}
	}
	ops := app.New(app.Options{Loop: h.Loop, MasterKey: apptest.MasterKey, KeyPool: pool})
	for _, slug := range []string{"acme-a", "acme-b"} {
		if _, err := ops.CreateEnvironment(t.Context(), app.CreateEnvironment{Account: "acme", Slug: slug}, apptest.Operator); err != nil {
			t.Fatal(err)
		}
		if infos := h.Keys.Keys(slug); len(infos) != 1 || infos[0].Role != signingkey.RolePrimary {
			t.Fatalf("keys of %s: %+v; want one primary", slug, infos)
		}
	}
	if s := pool.Stats(); s.Inline != 0 || s.Taken != 2 {
		t.Fatalf("pool %+v; want both primaries from the pool", s)
	}
	a, b := h.Keys.Keys("acme-a"), h.Keys.Keys("acme-b")
	if bytes.Equal([]byte(a[0].KID), []byte(b[0].KID)) {
		t.Fatal("two environments share a key")
	}
}
