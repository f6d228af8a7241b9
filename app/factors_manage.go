package app

import (
	"context"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
)

// Factor is one second factor as faces list it (no secret).
type Factor struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Name is what the person called a passkey.
	Name string `json:"name,omitempty"`
	// Status is "pending" (set up, not yet confirmed with a code) or "active".
	Status            string     `json:"status"`
	CreatedAt         time.Time  `json:"created_at"`
	ConfirmedAt       *time.Time `json:"confirmed_at,omitempty"`
	LastUsedAt        *time.Time `json:"last_used_at,omitempty"`
	RecoveryCodesLeft *int       `json:"recovery_codes_left,omitempty"`
}

// Factor statuses.
const (
	FactorPending = "pending"
	FactorActive  = "active"
)

// Factors are a user's second factors.
type Factors struct {
	List []Factor
	// Active: the user has a confirmed second factor (sign-in asks for it).
	Active bool
	// LockedUntil is when too many wrong codes stop locking the second factor (zero: not).
	LockedUntil time.Time
}

// Factors lists a user's second factors, read from their stream (current on any instance).
func (a *App) Factors(ctx context.Context, env, userID string) (Factors, error) {
	s, err := a.factorState(ctx, env, userID)
	if err != nil {
		return Factors{}, err
	}
	out := Factors{List: []Factor{}, Active: s.HasSecondFactor(), LockedUntil: s.LockedUntil()}
	if t := s.TOTP; t != nil {
		f := Factor{ID: t.ID, Kind: factor.KindTOTP, Status: FactorPending, CreatedAt: t.EnrolledAt}
		if t.Confirmed {
			left := s.RecoveryCodesLeft()
			f.Status, f.ConfirmedAt, f.RecoveryCodesLeft = FactorActive, timePtr(t.ConfirmedAt), &left
			f.LastUsedAt = timePtr(t.LastUsedAt)
		}
		out.List = append(out.List, f)
	}
	for _, p := range s.Passkeys {
		out.List = append(out.List, Factor{ID: p.FactorID, Kind: factor.KindPasskey, Name: p.Name, Status: FactorActive,
			CreatedAt: p.At, LastUsedAt: timePtr(p.LastUsedAt)})
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// RemoveFactor asks to remove one of a user's second factors.
type RemoveFactor struct {
	Environment string
	UserID      string
	FactorID    string
	// ByOperator: an operator's reset (the Management API), not the user's own choice.
	ByOperator bool
}

// RemoveFactor removes a factor (and, with the authenticator, its recovery codes).
// The caller has checked who may: the user themselves, after a current code, or an operator.
func (a *App) RemoveFactor(ctx context.Context, req RemoveFactor, actor domain.Actor) (Written, error) {
	reason := factor.RemovedByUser
	if req.ByOperator {
		if actor.Kind != domain.ActorOperator && actor.Kind != domain.ActorClient {
			return Written{}, domain.Forbidden("only an operator resets a user's factors")
		}
		reason = factor.RemovedByOperator
	}
	res, err := a.loop.Execute(ctx, factor.Remove{Environment: req.Environment, UserID: req.UserID, FactorID: req.FactorID,
		Reason: reason}, actor)
	return Written{Position: res.Position}, err
}

// ResetFactors asks to remove every second factor and passkey of a user: an operator's reset
// (a lost phone and laptop), not the user's own choice.
type ResetFactors struct {
	Environment string
	UserID      string
}

// FactorsReset is what a reset removed.
type FactorsReset struct {
	Written
	// Removed are the factors that were removed (as they were listed before).
	Removed []Factor
}

// ResetFactors removes all of a user's factors in one append (factor.RemoveAll). Only
// operators and Management API clients reset; a user of another environment, or one with
// no factor, is domain.ErrNotFound.
func (a *App) ResetFactors(ctx context.Context, req ResetFactors, actor domain.Actor) (FactorsReset, error) {
	if actor.Kind != domain.ActorOperator && actor.Kind != domain.ActorClient {
		return FactorsReset{}, domain.Forbidden("only an operator resets a user's factors")
	}
	before, err := a.Factors(ctx, req.Environment, req.UserID)
	if err != nil {
		return FactorsReset{}, err
	}
	res, err := a.loop.Execute(ctx, factor.RemoveAll{Environment: req.Environment, UserID: req.UserID,
		Reason: factor.RemovedByOperator}, actor)
	if err != nil {
		return FactorsReset{}, err
	}
	return FactorsReset{Written: Written{Position: res.Position}, Removed: before.List}, nil
}
