package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
)

// RegisterClient asks for a new client of an environment. Its id (and a confidential
// client's secret) are made by the operation.
type RegisterClient struct {
	Environment string
	Type        client.Type
	Settings    client.Settings
	// Grantor is the caller's authority over the Management API's scopes: an operator's
	// (client.OperatorGrantor) or a token's scopes. Its zero value holds none.
	Grantor client.Grantor
	// RefuseDuplicateName refuses the registration with a *DuplicateNameError when another
	// client of the environment already has this name (a face asks the person to confirm,
	// then registers again without it). Names are not unique: the zero value allows it.
	RefuseDuplicateName bool
}

// ErrDuplicateName matches a *DuplicateNameError.
var ErrDuplicateName = errors.New("another client of the environment has this name")

// DuplicateNameError names the clients of the environment that already have a name. It
// lists only that environment's clients.
type DuplicateNameError struct {
	Name    string
	Clients []catalog.Client
}

func (e *DuplicateNameError) Error() string {
	return fmt.Sprintf("%d client(s) of the environment are already named %q", len(e.Clients), e.Name)
}

// Is makes errors.Is(err, ErrDuplicateName) true.
func (e *DuplicateNameError) Is(target error) bool { return target == ErrDuplicateName }

// ClientsNamed lists the environment's clients whose name is name, ignoring case and
// spacing, from the catalog as is (a face that warns has made it current for its request).
// A race with a concurrent registration of the same name is possible: names are labels, not
// identities.
func (a *App) ClientsNamed(env, name string) []catalog.Client {
	if a.rm.Catalog == nil {
		return nil
	}
	key := sameName(name)
	var out []catalog.Client
	for _, c := range a.rm.Catalog.Clients(env) {
		if sameName(c.Settings.Name) == key {
			out = append(out, c)
		}
	}
	return out
}

func sameName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// ClientRegistered is the outcome of RegisterClient.
type ClientRegistered struct {
	ClientID string
	// Secret is a confidential client's secret: in this result and nowhere else, ever
	// (Paylent keeps its hash). "" for a public client.
	Secret   string
	Position int64
}

// LogValue implements slog.LogValuer without the secret.
func (r ClientRegistered) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", r.ClientID), slog.Int64("position", r.Position))
}

// RegisterClient registers a client; a Grantor cannot give management scopes it lacks.
func (a *App) RegisterClient(ctx context.Context, req RegisterClient, actor domain.Actor) (ClientRegistered, error) {
	if req.RefuseDuplicateName {
		if same := a.ClientsNamed(req.Environment, req.Settings.Name); len(same) > 0 {
			return ClientRegistered{}, &DuplicateNameError{Name: req.Settings.Name, Clients: same}
		}
	}
	cmd := client.Register{Environment: req.Environment, ID: secret.ID(), Type: req.Type, Settings: req.Settings, Grantor: req.Grantor}
	sec := ""
	if req.Type == client.Confidential {
		sec = secret.Token()
		cmd.SecretHash = secret.Hash(sec)
	}
	res, err := a.loop.Execute(ctx, cmd, actor)
	if err != nil {
		return ClientRegistered{}, err
	}
	return ClientRegistered{ClientID: cmd.ID, Secret: sec, Position: res.Position}, nil
}

// UpdateClient replaces a client's settings (its id and type stay).
type UpdateClient struct {
	Environment string
	ClientID    string
	Settings    client.Settings
	// Grantor may add only the management scopes it holds.
	Grantor client.Grantor
	// Expected, when set, are the settings the caller read: the update is refused
	// (client.ErrChanged) if the client's settings changed since.
	Expected *client.Settings
}

// UpdateClient replaces a client's settings.
func (a *App) UpdateClient(ctx context.Context, req UpdateClient, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, client.Update{Environment: req.Environment, ID: req.ClientID, Settings: req.Settings,
		Grantor: req.Grantor, Expected: req.Expected}, actor)
	return Written{Position: res.Position}, err
}

// RotateClientSecret asks for a new secret of a confidential client.
type RotateClientSecret struct {
	Environment string
	ClientID    string
	// Grace is how long the old secret keeps working (0: not at all).
	Grace time.Duration
	// Grantor must hold every management scope of the client: whoever learns the new
	// secret acts as the client.
	Grantor client.Grantor
}

// SecretRotated is the outcome of RotateClientSecret.
type SecretRotated struct {
	ClientID string
	// Secret is the new secret, shown once: Paylent keeps only its hash.
	Secret string
	// PreviousValidUntil is when the old secret stops working.
	PreviousValidUntil time.Time
	Position           int64
}

// LogValue implements slog.LogValuer without the secret.
func (r SecretRotated) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", r.ClientID), slog.Int64("position", r.Position))
}

// RotateClientSecret gives a client a new secret, made here and returned once.
func (a *App) RotateClientSecret(ctx context.Context, req RotateClientSecret, actor domain.Actor) (SecretRotated, error) {
	sec := secret.Token()
	res, err := a.loop.Execute(ctx, client.RotateSecret{Environment: req.Environment, ID: req.ClientID, SecretHash: secret.Hash(sec),
		Grace: req.Grace, Grantor: req.Grantor}, actor)
	if err != nil {
		return SecretRotated{}, err
	}
	return SecretRotated{ClientID: req.ClientID, Secret: sec, PreviousValidUntil: a.now().Add(req.Grace), Position: res.Position}, nil
}

// EnsureClient asks that a client Paylent itself needs (the dashboard's) exist with these
// settings and this secret, registering or updating it.
type EnsureClient struct {
	Environment string
	ClientID    string
	Type        client.Type
	// Secret is the client's secret (derived by its owner; only its hash is stored).
	Secret   string
	Settings client.Settings
}

// EnsureClient registers or updates one of Paylent's own clients. Only Paylent's start-up
// and its CLI call it, as the system.
func (a *App) EnsureClient(ctx context.Context, req EnsureClient, actor domain.Actor) (Written, error) {
	if actor.Kind != domain.ActorSystem {
		return Written{}, domain.Forbidden("only Paylent itself ensures its own clients")
	}
	res, err := a.loop.Execute(ctx, client.Ensure{Environment: req.Environment, ID: req.ClientID, Type: req.Type,
		SecretHash: secret.Hash(req.Secret), Settings: req.Settings}, actor)
	return Written{Position: res.Position}, err
}
