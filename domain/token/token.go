// Package token is the aggregate of one issued token (access or refresh): who it was issued
// to, for what, until when, and whether it was revoked. A token's value never enters an
// event: JWTs are identified by their jti, opaque and refresh tokens by a SHA-256 hash.
package token

import (
	"time"

	"github.com/paylent/paylent/domain"
)

// Kinds of token.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// Formats of access tokens.
const (
	FormatJWT    = "jwt"
	FormatOpaque = "opaque"
)

// Subject kinds.
const (
	SubjectClient = "client"
	SubjectUser   = "user"
)

// Stream is the token's stream.
func Stream(env, jti string) domain.StreamRef {
	return domain.StreamRef{Environment: env, Stream: "token/" + env + "/" + jti}
}

// HashJTI is the jti of an opaque or refresh token: derived from its hash so that any
// instance can find the token's stream from the token alone.
func HashJTI(tokenHash string) string {
	if len(tokenHash) < 32 {
		return tokenHash
	}
	return tokenHash[:32]
}

// Issued records a token.
type Issued struct {
	JTI         string    `json:"jti"`
	Kind        string    `json:"kind"`
	Format      string    `json:"format"`
	TokenHash   string    `json:"token_hash,omitempty"`
	ClientID    string    `json:"client_id"`
	Subject     string    `json:"subject"`
	SubjectKind string    `json:"subject_kind"`
	Scope       string    `json:"scope"`
	Audience    []string  `json:"audience,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	GrantID     string    `json:"grant_id,omitempty"`
	// AuthTime, ACR and AMR say when and how the user signed in (user tokens from version 2
	// on; absent for client credentials and for version 1 events).
	AuthTime *time.Time `json:"auth_time,omitempty"`
	ACR      string     `json:"acr,omitempty"`
	AMR      []string   `json:"amr,omitempty"`
}

// EventType implements domain.Event.
func (Issued) EventType() string { return "token.issued" }

// Revoked records a revocation. It carries the jti and the expiry so that resource servers
// can keep a deny-list of revoked JWTs until they would have expired anyway.
type Revoked struct {
	JTI       string    `json:"jti"`
	Kind      string    `json:"kind"`
	ClientID  string    `json:"client_id"`
	ExpiresAt time.Time `json:"expires_at"`
	Reason    string    `json:"reason"`
}

// EventType implements domain.Event.
func (Revoked) EventType() string { return "token.revoked" }

// State is a token folded from its events.
type State struct {
	Issued  *Issued
	Revoked bool
}

// Fold builds the state from a stream's history.
func Fold(history []domain.Event) State {
	var s State
	for _, e := range history {
		switch e := e.(type) {
		case Issued:
			s.Issued = &e
		case Revoked:
			s.Revoked = true
		}
	}
	return s
}

// Issue records a new token; its stream is new (the jti is random or hash-derived).
type Issue struct {
	Environment string
	Token       Issued
}

// Streams implements domain.Command.
func (c Issue) Streams() []domain.StreamRef {
	ref := Stream(c.Environment, c.Token.JTI)
	ref.Fresh = true
	return []domain.StreamRef{ref}
}

// Decide implements domain.Command.
func (c Issue) Decide(_ [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	t := c.Token
	switch {
	case len(t.JTI) < 16 || len(t.JTI) > 64:
		return nil, domain.Invalid("jti", "must be 16 to 64 characters")
	case t.Kind != KindAccess && t.Kind != KindRefresh:
		return nil, domain.Invalid("kind", "unknown token kind %q", t.Kind)
	case t.Format != FormatJWT && t.Format != FormatOpaque:
		return nil, domain.Invalid("format", "unknown token format %q", t.Format)
	case t.Format == FormatOpaque && len(t.TokenHash) != 64:
		return nil, domain.Invalid("token_hash", "opaque tokens are stored as a SHA-256 hash")
	case t.ClientID == "" || t.Subject == "":
		return nil, domain.Invalid("subject", "client and subject are required")
	case !t.ExpiresAt.After(t.IssuedAt):
		return nil, domain.Invalid("expires_at", "must be after issued_at")
	}
	return [][]domain.Event{{t}}, nil
}

// Revoke revokes a token. Revoking twice appends nothing.
type Revoke struct {
	Environment string
	JTI         string
	Reason      string
}

// Streams implements domain.Command.
func (c Revoke) Streams() []domain.StreamRef { return []domain.StreamRef{Stream(c.Environment, c.JTI)} }

// Decide implements domain.Command.
func (c Revoke) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	s := Fold(h[0])
	if s.Issued == nil {
		return nil, domain.ErrNotFound
	}
	if s.Revoked {
		return [][]domain.Event{nil}, nil
	}
	return [][]domain.Event{{Revoked{JTI: s.Issued.JTI, Kind: s.Issued.Kind, ClientID: s.Issued.ClientID,
		ExpiresAt: s.Issued.ExpiresAt, Reason: c.Reason}}}, nil
}
