package app

import (
	"context"
	"fmt"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
)

// CreateEnvironment asks for a new environment under an account (created on first use).
type CreateEnvironment struct {
	Account     string
	Slug        string
	DisplayName string
	// System creates the operators' environment; only Paylent itself sets it.
	System bool
	// WithNextKey makes the next signing key in the same append (two keys on the caller's
	// path) instead of leaving it to the key manager.
	WithNextKey bool
}

// EnvironmentCreated is the outcome of CreateEnvironment.
type EnvironmentCreated struct {
	Slug     string
	Account  string
	Position int64
}

// CreateEnvironment creates an environment together with its primary signing key, in one
// append, so its JWKS is never empty; the key comes from the key pool when it has one. The
// next key follows from the key manager (workers.KeyManager), which keeps creation to one
// RSA key generation at most. An existing slug is environment.ErrSlugTaken.
func (a *App) CreateEnvironment(ctx context.Context, req CreateEnvironment, actor domain.Actor) (EnvironmentCreated, error) {
	n := 1
	if req.WithNextKey {
		n = 2
	}
	cands, err := a.keyPool.Take(ctx, n)
	if err != nil {
		return EnvironmentCreated{}, err
	}
	res, err := a.loop.Execute(ctx, signingkey.CreateEnvironment{
		Create:     environment.Create{Account: req.Account, Slug: req.Slug, DisplayName: req.DisplayName, System: req.System},
		Candidates: cands}, actor)
	if err != nil {
		return EnvironmentCreated{}, fmt.Errorf("create environment %s: %w", req.Slug, err)
	}
	return EnvironmentCreated{Slug: req.Slug, Account: req.Account, Position: res.Position}, nil
}
