package signingkey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
)

// Material is a new key, generated outside the domain: its key id, its public key as a JWK
// JSON object (naming its algorithm), and its PKCS#8 private key sealed with the master key
// (Seal). A decision takes only material of its environment's algorithm.
type Material struct {
	KID           string
	PublicJWK     json.RawMessage
	SealedPrivate []byte
}

// privateMembers are the JWK members that carry private key material (RFC 7518 6.3.2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// publicMembers are, per algorithm, the JWK members a public key must have with fixed values
// ("" for the kid), and those that must be present (the key itself).
var publicMembers = map[string]struct {
	fixed    map[string]string
	required []string
}{
	environment.SigningRS256: {fixed: map[string]string{"kty": "RSA"}, required: []string{"n", "e"}},
	environment.SigningES256: {fixed: map[string]string{"kty": "EC", "crv": "P-256"}, required: []string{"x", "y"}},
}

// validate checks m on its own against the environment's algorithm: a usable kid, a public
// JWK of that algorithm naming it, a sealed key.
func (m Material) validate(alg string) error {
	if len(m.KID) == 0 || len(m.KID) > 100 {
		return domain.Invalid("kid", "must be 1 to 100 characters")
	}
	for _, c := range []byte(m.KID) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return domain.Invalid("kid", "must be letters, digits, '-', '_' or '.'")
		}
	}
	var jwk map[string]json.RawMessage
	if err := json.Unmarshal(m.PublicJWK, &jwk); err != nil || jwk == nil {
		return domain.Invalid("public_jwk", "must be a JSON object")
	}
	for _, p := range privateMembers {
		if _, ok := jwk[p]; ok {
			return domain.Invalid("public_jwk", "must not carry private key material (member %q)", p)
		}
	}
	want, ok := publicMembers[alg]
	if !ok {
		return domain.Invalid("alg", "no keys of algorithm %q", alg)
	}
	fixed := map[string]string{"kid": m.KID, "alg": alg}
	maps.Copy(fixed, want.fixed)
	for member, v := range fixed {
		var got string
		if err := json.Unmarshal(jwk[member], &got); err != nil || got != v {
			return domain.Invalid("public_jwk", "member %q must be %q", member, v)
		}
	}
	for _, member := range want.required {
		if len(jwk[member]) == 0 {
			return domain.Invalid("public_jwk", "must carry member %q of an %s key", member, alg)
		}
	}
	if len(m.SealedPrivate) < NonceSize+tagSize+1 {
		return domain.Invalid("private_key", "must be a sealed private key")
	}
	return nil
}

// planner builds a decision on a folded state, taking candidates in order.
type planner struct {
	alg    string // the environment's signing algorithm: every new key has it
	st     State
	cands  []Material
	used   int
	events []domain.Event
}

func (p *planner) emit(e domain.Event) {
	p.events = append(p.events, e)
	p.st = p.st.Apply(e)
}

// create adds the next candidate as the next key.
func (p *planner) create() error {
	if p.used >= len(p.cands) {
		return domain.Invalid("candidates", "not enough new keys for this decision (got %d)", len(p.cands))
	}
	m := p.cands[p.used]
	p.used++
	if err := m.validate(p.alg); err != nil {
		return err
	}
	if _, taken := p.st.Keys[m.KID]; taken {
		return domain.Invalid("kid", "key %s already exists in this environment", m.KID)
	}
	p.emit(Created{KID: m.KID, Alg: p.alg, PublicJWK: bytes.Clone(m.PublicJWK),
		PrivateKey: bytes.Clone(m.SealedPrivate), Role: RoleNext})
	return nil
}

// fill gives the state a primary (promoting the next key, or a new one) and a next key.
func (p *planner) fill() error {
	if err := p.primary(); err != nil {
		return err
	}
	if p.st.Next == "" {
		return p.create()
	}
	return nil
}

// primary gives the state a primary (promoting the next key, or a new one).
func (p *planner) primary() error {
	if p.st.Primary != "" {
		return nil
	}
	if p.st.Next == "" {
		if err := p.create(); err != nil {
			return err
		}
	}
	p.emit(Promoted{KID: p.st.Next})
	return nil
}

// load folds the environment's and the keys' streams; the environment must exist.
func load(env string, h [][]domain.Event) (*planner, error) {
	e := environment.Fold(h[0])
	if !e.Exists {
		return nil, fmt.Errorf("environment %s: %w", env, domain.ErrNotFound)
	}
	return &planner{alg: e.SigningAlg, st: Fold(h[1])}, nil
}

// Ensure gives an environment a primary and a next key when it lacks them; otherwise it
// decides nothing, so instances may run it concurrently and repeatedly. Candidates are used
// in order, as many as needed (two for an environment without keys, one for an environment
// created with its primary only: Needed); the rest are dropped.
type Ensure struct {
	Environment string
	Candidates  []Material
}

// Streams implements domain.Command: the environment's stream (read only), then its keys'.
func (c Ensure) Streams() []domain.StreamRef {
	return []domain.StreamRef{environment.Stream(c.Environment), Stream(c.Environment)}
}

// Decide implements domain.Command.
func (c Ensure) Decide(h [][]domain.Event, _ time.Time) ([][]domain.Event, error) {
	p, err := load(c.Environment, h)
	if err != nil {
		return nil, err
	}
	p.cands = c.Candidates
	if err := p.fill(); err != nil {
		return nil, err
	}
	return [][]domain.Event{nil, p.events}, nil
}

// Rotate makes a new primary: the next key is promoted, the old primary retired (verifiable
// until now + MaxTokenLifetime), and a candidate becomes the new next key. It needs one
// candidate, or two when there is no next key (one is promoted at once, one becomes next);
// an environment without keys just gets its first primary and next.
type Rotate struct {
	Environment string
	Candidates  []Material
	// MaxTokenLifetime is the longest lifetime of any token the old primary may have signed.
	MaxTokenLifetime time.Duration
}

// Streams implements domain.Command: the environment's stream (read only), then its keys'.
func (c Rotate) Streams() []domain.StreamRef {
	return []domain.StreamRef{environment.Stream(c.Environment), Stream(c.Environment)}
}

// Decide implements domain.Command.
func (c Rotate) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	if c.MaxTokenLifetime <= 0 {
		return nil, domain.Invalid("max_token_lifetime", "must be positive")
	}
	p, err := load(c.Environment, h)
	if err != nil {
		return nil, err
	}
	p.cands = c.Candidates
	if old := p.st.Primary; old != "" {
		if p.st.Next == "" {
			if err := p.create(); err != nil {
				return nil, err
			}
		}
		p.emit(Promoted{KID: p.st.Next})
		p.emit(Retired{KID: old, VerifyUntil: now.Add(c.MaxTokenLifetime)})
	}
	if err := p.fill(); err != nil {
		return nil, err
	}
	return [][]domain.Event{nil, p.events}, nil
}

// CreateEnvironment creates an environment together with its first primary key, in one
// append: an environment never exists without a key to sign with, so no request has to
// create one and no verifier ever sees an empty key set. It needs one candidate (the
// primary); a second one becomes the next key at once, else the key manager's Ensure adds
// the next key later (keeping creation to one key generation).
type CreateEnvironment struct {
	environment.Create
	Candidates []Material
}

// Streams implements domain.Command: the account's, the environment's and its keys'. The
// keys' stream is declared fresh (not read; appended only if it has no events): keys are
// only ever appended for an environment that exists or is created in the same append, so
// when the environment's stream is new, so is its keys' (one read less per creation).
func (c CreateEnvironment) Streams() []domain.StreamRef {
	keys := Stream(c.Slug)
	keys.Fresh = true
	return append(c.Create.Streams(), keys)
}

// Decide implements domain.Command.
func (c CreateEnvironment) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	out, err := c.Create.Decide(h[:2], now)
	if err != nil {
		return nil, err
	}
	p := &planner{alg: environment.SigningAlgOf(c.SigningAlg), st: Fold(h[2]), cands: c.Candidates}
	fill := p.fill
	if len(c.Candidates) == 1 {
		fill = p.primary
	}
	if err := fill(); err != nil {
		return nil, err
	}
	return append(out, p.events), nil
}

// Needed is how many new keys Ensure needs to complete s: 0 when it has a primary and a
// next key, 1 when one of them is missing, 2 for no keys at all.
func Needed(s State) int {
	switch {
	case s.Complete():
		return 0
	case s.Primary == "" && s.Next == "":
		return 2
	default:
		return 1
	}
}
