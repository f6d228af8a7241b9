package app

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections/sessions"
)

// Factor is one second factor as faces list it (no secret).
type Factor struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Name is what the person called a passkey.
	Name string `json:"name,omitempty"`
	// AAGUID is a passkey's authenticator model (hex; "" or zeros when not disclosed), and
	// Authenticator its name when it is a well-known one.
	AAGUID        string `json:"aaguid,omitempty"`
	Authenticator string `json:"authenticator,omitempty"`
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
		aaguid := p.AAGUID
		if strings.Trim(aaguid, "0") == "" {
			aaguid = "" // attestation "none": the model is not disclosed
		}
		out.List = append(out.List, Factor{ID: p.FactorID, Kind: factor.KindPasskey, Name: p.Name, Status: FactorActive,
			AAGUID: aaguid, Authenticator: knownAuthenticators[aaguid], CreatedAt: p.At, LastUsedAt: timePtr(p.LastUsedAt)})
	}
	return out, nil
}

// knownAuthenticators names a few common authenticator models by AAGUID (hex, as events hold
// it), from the community list github.com/passkeydeveloper/passkey-authenticator-aaguids.
var knownAuthenticators = map[string]string{
	"ea9b8d664d011d213ce4b6b48cb575d4": "Google Password Manager",
	"adce000235bcc60a648b0b25f1f05503": "Chrome on Mac",
	"fbfc3007154e4ecc8c0b6e020557d7bd": "iCloud Keychain",
	"08987058cadc4b81b6e130de50dcbe96": "Windows Hello",
	"9ddd1817af5a4672a2b93e3dd95000a9": "Windows Hello",
	"6028b017b1d44c02b4b3afcdafc96bb2": "Windows Hello",
	"bada5566a7aa401fbd9645619a55120d": "1Password",
	"d548826e79b4db40a3d811116f7e8349": "Bitwarden",
	"531126d6e717415c93203d9aa6981239": "Dashlane",
	"cb69481e8ff7403993ec0a2729a154a8": "YubiKey 5 Series",
	"ee882879721c491397753dfcce97072a": "YubiKey 5 Series",
	"fa2b99dc9e3942578f924a30d23c4118": "YubiKey 5 Series with NFC",
	"2fc0579f811347eab116bb5a8db9202a": "YubiKey 5 Series with NFC",
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
	// MultiFactor: the user's own removal comes from a session that proved a second factor
	// or a passkey, or with a current code; without it the domain refuses (factor.ErrStepUp).
	MultiFactor bool
}

// RemoveFactor removes a factor (and, with the authenticator, its recovery codes).
// The caller has checked who may: the user themselves, after a current code, or an operator.
// An operator's removal also ends the user's sessions and grants (resetFactors).
func (a *App) RemoveFactor(ctx context.Context, req RemoveFactor, actor domain.Actor) (Written, error) {
	if req.ByOperator {
		if actor.Kind != domain.ActorOperator && actor.Kind != domain.ActorClient {
			return Written{}, domain.Forbidden("only an operator resets a user's factors")
		}
		ended, err := a.resetFactors(ctx, req.Environment, req.UserID, req.FactorID, actor)
		return Written{Position: ended.Position}, err
	}
	res, err := a.loop.Execute(ctx, factor.Remove{Environment: req.Environment, UserID: req.UserID, FactorID: req.FactorID,
		Reason: factor.RemovedByUser, MultiFactor: req.MultiFactor}, actor)
	return Written{Position: res.Position}, err
}

// ResetFactors asks to remove every second factor and passkey of a user: an operator's reset
// (a lost phone and laptop), not the user's own choice.
type ResetFactors struct {
	Environment string
	UserID      string
}

// FactorsReset is what a reset removed and ended.
type FactorsReset struct {
	Written
	// Removed are the factors that were removed (as they were listed before).
	Removed []Factor
	// Ended counts the sessions, grants and tokens the reset revoked.
	Ended Ended
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
	ended, err := a.resetFactors(ctx, req.Environment, req.UserID, "", actor)
	if err != nil && ended.Position == 0 {
		return FactorsReset{}, err
	}
	// A failed sweep still removed the factors: the result says so.
	return FactorsReset{Written: Written{Position: ended.Position}, Removed: before.List, Ended: ended}, err
}

// resetFactors runs access.ResetFactors (one factor, or all with factorID empty) over every
// session and grant of the user the read models show at the log's head, then sweeps the
// sessions and grants made meanwhile: a lost or stolen device may have signed someone in.
func (a *App) resetFactors(ctx context.Context, env, userID, factorID string, actor domain.Actor) (Ended, error) {
	if err := a.Current(ctx, a.rm.TokensReady, a.rm.SessionsReady); err != nil {
		a.log.Warn("resetting factors with read models behind the log; the sweep completes it", "err", err)
	}
	now := a.now()
	sess := sessions.ActiveIDs(a.rm.Sessions.OfUser(env, userID), now)
	grants, _ := a.rm.Tokens.Held(env, userID, "", now)
	res, err := a.loop.Execute(ctx, access.ResetFactors{Environment: env, UserID: userID, FactorID: factorID,
		SessionIDs: sess, GrantIDs: grants}, actor)
	if err != nil {
		return Ended{}, err
	}
	var out Ended
	out.add(res)
	if out, err = a.sweepSessions(ctx, out, env, userID, sess, removedAt(res, now), access.ReasonFactorsReset, actor); err != nil {
		return out, err
	}
	return a.sweep(ctx, out, access.RevokeGrants{Environment: env, UserID: userID, Reason: access.ReasonFactorsReset},
		grants, actor)
}

// removedAt is when the reset's factor.removed events say it happened (after, if none).
func removedAt(res eventstore.Result, after time.Time) time.Time {
	at := after
	for _, e := range res.Events {
		var r factor.Removed
		if e.Type == r.EventType() && json.Unmarshal(e.Data, &r) == nil && r.At.After(at) {
			at = r.At
		}
	}
	return at
}
