package grant

import (
	"errors"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
)

// Errors a refresh can end with (all answered invalid_grant).
var (
	ErrRevoked = errors.New("the grant was revoked")
	ErrExpired = errors.New("the refresh token has expired")
	// ErrPartyEnded: the grant's user is disabled or deleted, or its client deleted, or the
	// user's password changed, or an operator reset their factors, after the authentication
	// the grant rests on. Nothing is issued for them, whatever a face's read model still says.
	ErrPartyEnded = errors.New("the user or the client no longer stands")
)

// parties are the guarded streams of the user and the client a token is issued for: the
// decision reads them, and the append fails if either changed meanwhile.
func parties(env string, t token.Issued) []domain.StreamRef {
	u, c := user.Stream(env, t.Subject), client.Stream(env, t.ClientID)
	u.Guard, c.Guard = true, true
	return []domain.StreamRef{u, c}
}

// standing refuses a disabled or deleted user and a deleted client (the two parties'
// histories, as parties names them), and an authentication (at authTime) older than the
// user's last password change or not after their sign-ins were ended (an operator's factor
// reset): a code or a grant made with the old password, or with a lost device, is dead.
func standing(h [][]domain.Event, authTime time.Time) error {
	if u := user.FoldAll(h[0]); !u.Exists || u.Deleted || u.Disabled || !u.AuthenticationStands(authTime) {
		return ErrPartyEnded
	}
	if !client.Fold(h[1]).Exists {
		return ErrPartyEnded
	}
	return nil
}

// Redeem redeems an authorization code: the code becomes used, a grant is created with the
// tokens minted for it. A code that was already redeemed is a replay: the decision records
// it and revokes the grant (and every token issued from the code) instead.
type Redeem struct {
	Environment string
	CodeHash    string
	Access      token.Issued
	Refresh     *token.Issued // nil when the client may not refresh
}

// Streams implements domain.Command: the code, the grant, the access token, and the
// refresh token when there is one.
func (c Redeem) Streams() []domain.StreamRef {
	refs := []domain.StreamRef{
		authcode.Stream(c.Environment, c.CodeHash),
		Stream(c.Environment, authcode.GrantID(c.CodeHash)),
		fresh(token.Stream(c.Environment, c.Access.JTI)),
	}
	if c.Refresh != nil {
		refs = append(refs, fresh(token.Stream(c.Environment, c.Refresh.JTI)))
	}
	return append(refs, parties(c.Environment, c.Access)...)
}

// Decide implements domain.Command.
func (c Redeem) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	code := authcode.Fold(h[0])
	if code.Issued == nil {
		return nil, domain.ErrNotFound
	}
	out := make([][]domain.Event, len(h))
	g := Fold(h[1])
	if code.Redeemed {
		out[0] = []domain.Event{authcode.ReplayDetected{ClientID: c.Access.ClientID}}
		if g.Exists && !g.Revoked {
			out[1] = []domain.Event{Revoked{Reason: ReasonCodeReplay, Tokens: g.Live(now)}}
		}
		return out, nil
	}
	// The caller checked redirect URI and PKCE; client and expiry are checked again here,
	// against the history the append is conditioned on.
	if code.Issued.ClientID != c.Access.ClientID || !now.Before(code.Issued.ExpiresAt) {
		return nil, domain.Invalid("code", "the authorization code is expired or was issued to another client")
	}
	if code.Issued.UserID != c.Access.Subject {
		return nil, domain.Invalid("subject", "the access token's subject is not the code's user")
	}
	if err := standing(h[len(h)-2:], code.Issued.AuthTime); err != nil {
		return nil, err
	}
	id := authcode.GrantID(c.CodeHash)
	created := Created{GrantID: id, ClientID: code.Issued.ClientID, UserID: code.Issued.UserID, Scope: code.Issued.Scope,
		SessionID: code.Issued.SessionID, AuthTime: code.Issued.AuthTime, Tokens: []TokenRef{ref(c.Access)},
		AMR: code.Issued.AMR, ACR: code.Issued.ACR}
	access := c.Access
	access.GrantID = id
	out[2] = []domain.Event{access}
	if c.Refresh != nil {
		r := *c.Refresh
		r.GrantID = id
		created.Refresh = r.JTI
		created.Tokens = append(created.Tokens, ref(r))
		out[3] = []domain.Event{r}
	}
	out[0] = []domain.Event{authcode.Redeemed{GrantID: id}}
	out[1] = []domain.Event{created}
	return out, nil
}

// Refresh uses a refresh token (RFC 6749 §6) with rotation. Access and NewRefresh are
// minted by the caller (the new refresh token's value is derived from the presented one, so
// a retry within the window returns the same value).
type Refresh struct {
	Environment string
	GrantID     string
	Presented   string // jti of the presented refresh token
	Scope       oauth.Scopes
	Access      token.Issued
	NewRefresh  token.Issued
	RetryWindow time.Duration
	// PresentedExpiresAt is the presented refresh token's expiry.
	PresentedExpiresAt time.Time
}

// Streams implements domain.Command: the grant, the new access token, the new refresh token.
func (c Refresh) Streams() []domain.StreamRef {
	return append([]domain.StreamRef{Stream(c.Environment, c.GrantID), fresh(token.Stream(c.Environment, c.Access.JTI)),
		fresh(token.Stream(c.Environment, c.NewRefresh.JTI))}, parties(c.Environment, c.Access)...)
}

// Decide implements domain.Command. Reuse of a rotated token appends the detection and the
// revocation and returns no error: the caller finds ReuseDetected among the events.
func (c Refresh) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	g := Fold(h[0])
	out := make([][]domain.Event, len(h))
	switch {
	case !g.Exists:
		return nil, domain.ErrNotFound
	case g.Revoked:
		return nil, ErrRevoked
	case g.UserID != c.Access.Subject || g.ClientID != c.Access.ClientID:
		return nil, domain.Invalid("subject", "the access token's subject or client is not the grant's")
	}
	if err := standing(h[3:5], g.AuthTime); err != nil {
		return nil, err
	}
	switch {
	case c.Presented == g.Current:
		if !now.Before(c.PresentedExpiresAt) {
			return nil, ErrExpired
		}
		if missing, ok := c.Scope.SubsetOf(oauth.NewScopes(splitScope(g.Scope)...)); !ok {
			return nil, domain.Invalid("scope", "scope %q was not granted", missing)
		}
		access, refresh := c.Access, c.NewRefresh
		access.GrantID, refresh.GrantID = g.ID, g.ID
		out[0] = []domain.Event{Rotated{From: c.Presented, Refresh: refresh.JTI, Tokens: []TokenRef{ref(access), ref(refresh)}, At: now}}
		out[1], out[2] = []domain.Event{access}, []domain.Event{refresh}
	case c.Presented == g.Previous && c.RetryWindow > 0 && now.Sub(g.RotatedAt) <= c.RetryWindow && c.NewRefresh.JTI == g.Current:
		// A lost response: the client gets the same new refresh token again.
		access := c.Access
		access.GrantID = g.ID
		out[0] = []domain.Event{RotationRetried{From: c.Presented, Tokens: []TokenRef{ref(access)}}}
		out[1] = []domain.Event{access}
	default:
		out[0] = []domain.Event{ReuseDetected{RefreshJTI: c.Presented}, Revoked{Reason: ReasonReuse, Tokens: g.Live(now)}}
	}
	return out, nil
}

// Revoke revokes a grant and every token issued under it. Revoking twice appends nothing.
type Revoke struct {
	Environment string
	GrantID     string
	Reason      string
}

// Streams implements domain.Command.
func (c Revoke) Streams() []domain.StreamRef {
	return []domain.StreamRef{Stream(c.Environment, c.GrantID)}
}

// Decide implements domain.Command.
func (c Revoke) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	g := Fold(h[0])
	if !g.Exists {
		return nil, domain.ErrNotFound
	}
	if g.Revoked {
		return [][]domain.Event{nil}, nil
	}
	return [][]domain.Event{{Revoked{Reason: c.Reason, Tokens: g.Live(now)}}}, nil
}

func splitScope(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func fresh(ref domain.StreamRef) domain.StreamRef {
	ref.Fresh = true
	return ref
}

func ref(t token.Issued) TokenRef { return TokenRef{JTI: t.JTI, Kind: t.Kind, ExpiresAt: t.ExpiresAt} }
