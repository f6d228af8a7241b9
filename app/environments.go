package app

import (
	"context"
	"fmt"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/internal/keygen"
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
	// SigningAlg is the algorithm of the environment's signing keys, for good:
	// environment.SigningRS256 (the default, when empty) or environment.SigningES256.
	SigningAlg string
}

// EnvironmentCreated is the outcome of CreateEnvironment.
type EnvironmentCreated struct {
	Slug       string
	Account    string
	SigningAlg string
	Position   int64
}

// CreateEnvironment creates an environment together with its primary signing key, in one
// append, so its JWKS is never empty; an RSA key comes from the key pool when it has one,
// an ES256 key is generated at once. The
// next key follows from the key manager (workers.KeyManager), which keeps creation to one
// RSA key generation at most. An existing slug is environment.ErrSlugTaken.
func (a *App) CreateEnvironment(ctx context.Context, req CreateEnvironment, actor domain.Actor) (EnvironmentCreated, error) {
	n := 1
	if req.WithNextKey {
		n = 2
	}
	alg := environment.SigningAlgOf(req.SigningAlg)
	if err := environment.ValidateSigningAlg(alg); err != nil {
		return EnvironmentCreated{}, err // before any key is generated
	}
	cands, err := a.newKeys(ctx, alg, n)
	if err != nil {
		return EnvironmentCreated{}, err
	}
	res, err := a.loop.Execute(ctx, signingkey.CreateEnvironment{
		Create: environment.Create{Account: req.Account, Slug: req.Slug, DisplayName: req.DisplayName, System: req.System,
			SigningAlg: alg},
		Candidates: cands}, actor)
	if err != nil {
		return EnvironmentCreated{}, fmt.Errorf("create environment %s: %w", req.Slug, err)
	}
	return EnvironmentCreated{Slug: req.Slug, Account: req.Account, SigningAlg: alg, Position: res.Position}, nil
}

// newKeys are n new signing keys of the algorithm alg: RSA keys from the key pool (inline
// behind its budget when it is empty); ES256 keys are generated here, in microseconds.
func (a *App) newKeys(ctx context.Context, alg string, n int) ([]signingkey.Material, error) {
	if alg == environment.SigningRS256 {
		return a.keyPool.Take(ctx, n)
	}
	return keygen.GenerateFor(alg, a.masterKey, a.rand, n)
}
