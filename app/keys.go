package app

import (
	"context"
	"fmt"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
)

// RetireGrace is added to the token lifetime when a rotation retires a key: other instances
// sign with the old primary until they have applied the rotation, and clocks drift.
const RetireGrace = 5 * time.Minute

// RotateKeys asks for a new primary signing key of an environment.
type RotateKeys struct {
	Environment string
}

// KeysRotated is the outcome of RotateKeys: the new primary and next keys, and the retired
// one with how long it still verifies (its kid "" when there was no primary to retire).
type KeysRotated struct {
	Primary, Next, Retired string
	VerifyUntil            time.Time
	Position               int64
}

// RotateKeys promotes the next key, retires the old primary (it verifies what it signed for
// the longest lifetime of a token it may have signed, the environment's access and ID token
// lifetime, plus RetireGrace) and creates a new next key. An unknown environment is
// domain.ErrNotFound.
func (a *App) RotateKeys(ctx context.Context, req RotateKeys, actor domain.Actor) (KeysRotated, error) {
	hist, err := a.loop.Read(ctx, environment.Stream(req.Environment))
	if err != nil {
		return KeysRotated{}, err
	}
	env := environment.Fold(hist)
	if !env.Exists {
		return KeysRotated{}, fmt.Errorf("rotate signing keys of %s: %w", req.Environment, domain.ErrNotFound)
	}
	// A rotation needs a second candidate only when there is no next key to promote.
	keyHist, err := a.loop.Read(ctx, signingkey.Stream(req.Environment))
	if err != nil {
		return KeysRotated{}, err
	}
	need := 1
	if signingkey.Fold(keyHist).Next == "" {
		need = 2
	}
	cands, err := a.newKeys(ctx, env.SigningAlg, need) // rotation keeps the environment's algorithm
	if err != nil {
		return KeysRotated{}, err
	}
	res, err := a.loop.Execute(ctx, signingkey.Rotate{Environment: req.Environment, Candidates: cands,
		MaxTokenLifetime: env.Settings.AccessTokenTTL() + RetireGrace}, actor)
	if err != nil {
		return KeysRotated{}, fmt.Errorf("rotate signing keys of %s: %w", req.Environment, err)
	}
	out := KeysRotated{Position: res.Position}
	for _, e := range res.Events {
		if a.registry == nil {
			break
		}
		rec, err := a.registry.DecodeEnvelope(e)
		if err != nil {
			return out, err
		}
		switch ev := rec.Event.(type) {
		case signingkey.Promoted:
			out.Primary = ev.KID
		case signingkey.Created:
			out.Next = ev.KID
		case signingkey.Retired:
			out.Retired, out.VerifyUntil = ev.KID, ev.VerifyUntil
		}
	}
	return out, nil
}

// JWKS is an environment's published key set, read as is, except that an environment the
// catalog knows whose keys this instance has not applied yet (the keys runtime follows the
// log apart from the catalog's) is read after its latest event: its primary key came in the
// append that created it, so a created environment's JWKS is never empty. The wait is
// bounded; an unknown environment is answered at once.
func (a *App) JWKS(env string, now time.Time) ([]byte, error) {
	doc, err := a.rm.Keys.JWKS(env, now)
	if err != nil || len(doc) > len(`{"keys":[]}`) || a.rm.KeysReady == nil || a.rm.Catalog == nil {
		return doc, err
	}
	e, ok := a.rm.Catalog.Environment(env)
	if !ok {
		return doc, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), freshTimeout)
	defer cancel()
	if err := a.rm.KeysReady.WaitFor(ctx, e.Position); err != nil {
		return nil, fmt.Errorf("keys of %s: %w: %w", env, ErrStale, err)
	}
	return a.rm.Keys.JWKS(env, now)
}
