package access

import (
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
)

// ReasonFactorsReset is why sessions and grants end when an operator removes a user's
// second factor or passkey.
const ReasonFactorsReset = "factors_reset"

// ResetFactors removes, on an operator's word, one of a user's second factors or passkeys
// (FactorID), or all of them (FactorID empty), and in the same append revokes every session
// and grant the user holds: an operator resets factors when a phone or a laptop is lost or
// stolen, and whoever holds it may have signed in with it. The user's stream records that
// their sign-ins until now ended (user.SignInsEnded), so that no code or grant of before
// is redeemed or refreshed later. The user signs in again with their password and sets up
// a factor anew.
type ResetFactors struct {
	Environment string
	UserID      string
	FactorID    string
	SessionIDs  []string
	GrantIDs    []string
}

// factorStreams is how many streams the factor decision reads (factor.Remove's, RemoveAll's).
const factorStreams = 2

func (c ResetFactors) remove() domain.Command {
	if c.FactorID != "" {
		return factor.Remove{Environment: c.Environment, UserID: c.UserID, FactorID: c.FactorID, Reason: factor.RemovedByOperator}
	}
	return factor.RemoveAll{Environment: c.Environment, UserID: c.UserID, Reason: factor.RemovedByOperator}
}

// Streams implements domain.Command: the factor decision's, the sessions, the grants.
func (c ResetFactors) Streams() []domain.StreamRef {
	refs := c.remove().Streams()
	for _, id := range c.SessionIDs {
		refs = append(refs, session.Stream(c.Environment, id))
	}
	for _, id := range c.GrantIDs {
		refs = append(refs, grant.Stream(c.Environment, id))
	}
	return refs
}

// Decide implements domain.Command.
func (c ResetFactors) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	removed, err := c.remove().Decide(h[:factorStreams], now)
	if err != nil {
		return nil, err
	}
	out := make([][]domain.Event, len(h))
	copy(out, removed)
	if u := user.FoldAll(h[1]); u.Exists { // h[1]: the user's stream (factor commands read it)
		// A code or a grant made before, with the removed factor, is dead too: the grant
		// decisions read this, so nothing the sweep may miss is redeemed or refreshed.
		out[1] = []domain.Event{user.SignInsEnded{Reason: ReasonFactorsReset, At: now}}
	}
	revokeHeld(h, out, factorStreams, c.UserID, len(c.SessionIDs), len(c.GrantIDs), ReasonFactorsReset, now)
	return out, nil
}
