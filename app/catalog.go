package app

import (
	"context"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/resource"
	"github.com/paylent/paylent/domain/scope"
)

// CreateScope asks for a custom scope of an environment, optionally of an API.
type CreateScope struct {
	Environment string
	Name        string
	Description string
	// API is the identifier of the API the scope belongs to ("" for none).
	API string
}

// CreateScope creates a custom scope.
func (a *App) CreateScope(ctx context.Context, req CreateScope, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, scope.Create{Environment: req.Environment, Name: req.Name, Description: req.Description,
		API: req.API}, actor)
	return Written{Position: res.Position}, err
}

// ScopeRef names a scope of an environment.
type ScopeRef struct {
	Environment string
	Name        string
}

// DeleteScope deletes a custom scope (the domain refuses standard scopes).
func (a *App) DeleteScope(ctx context.Context, req ScopeRef, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, scope.Delete{Environment: req.Environment, Name: req.Name}, actor)
	return Written{Position: res.Position}, err
}

// UpdateScope asks to change a custom scope: the fields that are set. API "" takes the
// scope out of its API.
type UpdateScope struct {
	Environment string
	Name        string
	Description *string
	API         *string
}

// UpdateScope changes a custom scope's description or API (the domain refuses standard
// scopes and an API the environment does not have); Position is 0 when nothing changed.
// Tokens issued before keep the audience they were issued with.
func (a *App) UpdateScope(ctx context.Context, req UpdateScope, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, scope.Update{Environment: req.Environment, Name: req.Name, Description: req.Description,
		API: req.API}, actor)
	return Written{Position: res.Position}, err
}

// CreateAPI asks for an API (a resource server) of an environment: its identifier is the
// audience of its tokens.
type CreateAPI struct {
	Environment string
	Identifier  string
	Name        string
}

// CreateAPI registers an API.
func (a *App) CreateAPI(ctx context.Context, req CreateAPI, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, resource.Create{Environment: req.Environment, Identifier: req.Identifier, Name: req.Name}, actor)
	return Written{Position: res.Position}, err
}

// ChangeSettings asks to change an environment's settings: the fields the patch sets.
type ChangeSettings struct {
	Environment string
	Patch       environment.SettingsPatch
}

// ChangeSettings changes an environment's settings; Position is 0 when nothing changed.
func (a *App) ChangeSettings(ctx context.Context, req ChangeSettings, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, environment.ChangeSettings{Slug: req.Environment, Patch: req.Patch}, actor)
	return Written{Position: res.Position}, err
}
