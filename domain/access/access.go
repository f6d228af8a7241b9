package access

import (
	"errors"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/consent"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
)

// Revocation reasons recorded on the grants, sessions and tokens that end with their user,
// client or consent.
const (
	ReasonUserDisabled   = "user_disabled"
	ReasonUserDeleted    = "user_deleted"
	ReasonClientDeleted  = "client_deleted"
	ReasonConsentRevoked = "consent_revoked"
)

// EndUser disables or deletes a user and, in the same append, revokes every session and
// grant of theirs that it names (with every live token of those grants: the events carry
// the jtis resource servers deny). The caller names the sessions and grants from its read
// models; the decision checks each belongs to the user, so a stale or wrong list can only
// revoke less, never someone else's. Disabling an already disabled user still revokes what
// is named (a sweep after a race). Re-enabling (user.Change) brings nothing back.
type EndUser struct {
	Environment string
	UserID      string
	// Delete deletes the user and releases Email (the user's address); otherwise the user
	// is disabled.
	Delete     bool
	Email      string
	SessionIDs []string
	GrantIDs   []string
}

// Streams implements domain.Command: the user, (for a delete) the address, the sessions,
// the grants.
func (c EndUser) Streams() []domain.StreamRef {
	refs := []domain.StreamRef{user.Stream(c.Environment, c.UserID)}
	if c.Delete {
		refs = append(refs, user.EmailStream(c.Environment, c.Email))
	}
	for _, id := range c.SessionIDs {
		refs = append(refs, session.Stream(c.Environment, id))
	}
	for _, id := range c.GrantIDs {
		refs = append(refs, grant.Stream(c.Environment, id))
	}
	return refs
}

// Decide implements domain.Command.
func (c EndUser) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	u := user.FoldAll(h[0])
	if !u.Exists || u.Deleted {
		return nil, domain.ErrNotFound
	}
	out := make([][]domain.Event, len(h))
	next, reason := 1, ReasonUserDisabled
	switch {
	case c.Delete:
		if user.NormalizeEmail(c.Email) != u.Email {
			return nil, domain.ErrNotFound
		}
		out[0], out[1] = []domain.Event{user.Deleted{}}, []domain.Event{user.EmailReleased{UserID: c.UserID}}
		next, reason = 2, ReasonUserDeleted
	case !u.Disabled:
		out[0] = []domain.Event{user.Disabled{}}
	}
	revokeHeld(h, out, next, c.UserID, len(c.SessionIDs), len(c.GrantIDs), reason, now)
	return out, nil
}

// revokeHeld decides, into out, the revocation of a user's sessions and grants whose
// histories are h[from:from+sessions] and the grants' after them: each only if it is live
// and belongs to userID, so a stale or wrong list can revoke less, never someone else's.
func revokeHeld(h, out [][]domain.Event, from int, userID string, sessions, grants int, reason string, now time.Time) {
	for i := from; i < from+sessions; i++ {
		if s := session.Fold(h[i]); s.Started != nil && !s.Revoked && s.Started.UserID == userID {
			out[i] = []domain.Event{session.Revoked{Reason: reason}}
		}
	}
	for i := from + sessions; i < from+sessions+grants; i++ {
		if g := grant.Fold(h[i]); g.Exists && !g.Revoked && g.UserID == userID {
			out[i] = []domain.Event{grant.Revoked{Reason: reason, Tokens: g.Live(now)}}
		}
	}
}

// EndClient deletes a client and, in the same append, revokes every grant issued to it and
// every standalone token (client credentials) that it names. JWT access tokens of the
// client credentials grant are not kept anywhere by jti; the client.deleted event is their
// revocation: a token whose client is deleted is refused by every face (Standing), and
// resource servers that follow events refuse tokens of a deleted client.
type EndClient struct {
	Environment string
	ClientID    string
	GrantIDs    []string
	TokenJTIs   []string
	// Grantor must hold every Management API scope the client has.
	Grantor client.Grantor
}

// Streams implements domain.Command: the client, its grants, its tokens.
func (c EndClient) Streams() []domain.StreamRef {
	refs := []domain.StreamRef{client.Stream(c.Environment, c.ClientID)}
	for _, id := range c.GrantIDs {
		refs = append(refs, grant.Stream(c.Environment, id))
	}
	for _, jti := range c.TokenJTIs {
		refs = append(refs, token.Stream(c.Environment, jti))
	}
	return refs
}

// Decide implements domain.Command.
func (c EndClient) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	deleted, err := client.Delete{Environment: c.Environment, ID: c.ClientID}.Decide(h[:1], now)
	if err != nil {
		return nil, err
	}
	if err := c.Grantor.Covers(client.Fold(h[0]).Settings.Scopes); err != nil {
		return nil, err
	}
	out := make([][]domain.Event, len(h))
	out[0] = deleted[0]
	for i := range c.GrantIDs {
		if g := grant.Fold(h[1+i]); g.Exists && !g.Revoked && g.ClientID == c.ClientID {
			out[1+i] = []domain.Event{grant.Revoked{Reason: ReasonClientDeleted, Tokens: g.Live(now)}}
		}
	}
	next := 1 + len(c.GrantIDs)
	for i := range c.TokenJTIs {
		t := token.Fold(h[next+i])
		if t.Issued == nil || t.Revoked || t.Issued.ClientID != c.ClientID || !t.Issued.ExpiresAt.After(now) {
			continue
		}
		out[next+i] = []domain.Event{token.Revoked{JTI: t.Issued.JTI, Kind: t.Issued.Kind, ClientID: t.Issued.ClientID,
			ExpiresAt: t.Issued.ExpiresAt, Reason: ReasonClientDeleted}}
	}
	return out, nil
}

// RevokeConsent forgets a user's consent to a client and revokes, in the same append, the
// grants of that user with that client that it names.
type RevokeConsent struct {
	Environment string
	UserID      string
	ClientID    string
	GrantIDs    []string
}

// Streams implements domain.Command: the consent, then the grants.
func (c RevokeConsent) Streams() []domain.StreamRef {
	refs := consent.Revoke{Environment: c.Environment, UserID: c.UserID, ClientID: c.ClientID}.Streams()
	for _, id := range c.GrantIDs {
		refs = append(refs, grant.Stream(c.Environment, id))
	}
	return refs
}

// Decide implements domain.Command.
func (c RevokeConsent) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	cmd := consent.Revoke{Environment: c.Environment, UserID: c.UserID, ClientID: c.ClientID}
	n := len(cmd.Streams())
	forgotten, err := cmd.Decide(h[:n], now)
	noConsent := errors.Is(err, domain.ErrNotFound) // its grants may outlive it: still revoke them
	if err != nil && !noConsent {
		return nil, err
	}
	out := make([][]domain.Event, len(h))
	copy(out, forgotten)
	revoked := 0
	for i := range c.GrantIDs {
		if g := grant.Fold(h[n+i]); g.Exists && !g.Revoked && g.UserID == c.UserID && g.ClientID == c.ClientID {
			out[n+i] = []domain.Event{grant.Revoked{Reason: ReasonConsentRevoked, Tokens: g.Live(now)}}
			revoked++
		}
	}
	if noConsent && revoked == 0 {
		return nil, domain.ErrNotFound
	}
	return out, nil
}

// RevokeGrants revokes the named grants that belong to UserID (when set) and ClientID (when
// set): the sweep after ending a party, for grants created while the party's end was being
// decided and not yet in the caller's read model.
type RevokeGrants struct {
	Environment string
	UserID      string
	ClientID    string
	GrantIDs    []string
	Reason      string
}

// Streams implements domain.Command.
func (c RevokeGrants) Streams() []domain.StreamRef {
	refs := make([]domain.StreamRef, len(c.GrantIDs))
	for i, id := range c.GrantIDs {
		refs[i] = grant.Stream(c.Environment, id)
	}
	return refs
}

// Decide implements domain.Command.
func (c RevokeGrants) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	out := make([][]domain.Event, len(h))
	for i := range h {
		g := grant.Fold(h[i])
		if g.Exists && !g.Revoked && (c.UserID == "" || g.UserID == c.UserID) && (c.ClientID == "" || g.ClientID == c.ClientID) {
			out[i] = []domain.Event{grant.Revoked{Reason: c.Reason, Tokens: g.Live(now)}}
		}
	}
	return out, nil
}
