package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/projections"
)

// Name is the projection name.
const Name = "keys"

// storedKey is one key as snapshots hold it, plus its parsed public key.
type storedKey struct {
	KID         string          `json:"kid"`
	Alg         string          `json:"alg,omitempty"` // "" in checkpoints of RS256-only versions
	Role        signingkey.Role `json:"role"`
	PublicJWK   json.RawMessage `json:"public_jwk"`
	PrivateKey  []byte          `json:"private_key"` // sealed with the master key, never in clear
	CreatedAt   time.Time       `json:"created_at"`
	VerifyUntil time.Time       `json:"verify_until,omitzero"`

	// The public key, parsed from PublicJWK on first use (a restore parses nothing: at
	// 50,000 environments that was most of a restart).
	parsed sync.Once
	pub    jwk.Key          // public JWK of kty, kid, use, alg and the key's members; nil if PublicJWK does not parse
	rawPub crypto.PublicKey // the same key (*rsa.PublicKey or *ecdsa.PublicKey), to check the private key against
}

// alg is the key's algorithm (RS256 for keys recorded before algorithms were a choice).
func (sk *storedKey) alg() string { return environment.SigningAlgOf(sk.Alg) }

// envKeys are one environment's keys.
type envKeys struct {
	Primary string                `json:"primary"`
	Next    string                `json:"next"`
	Keys    map[string]*storedKey `json:"keys"`

	signer *cachedSigner // the primary, decrypted on first use
}

type cachedSigner struct {
	kid    string
	signer *Signer
	err    error
}

type state struct {
	Environments map[string]*envKeys `json:"environments"`
}

// Keyring is the projection. Create it with New.
type Keyring struct {
	jwksCache sync.Map // env → cachedJWKS
	master    []byte

	mu sync.RWMutex
	st state
	// incomplete are the environments whose keys lack a primary or a next key: what the key
	// manager has to work on, without scanning every environment.
	incomplete map[string]struct{}
}

var _ projections.Projection = (*Keyring)(nil)

// New returns an empty keyring that opens private keys with masterKey (copied).
func New(masterKey []byte) *Keyring {
	return &Keyring{master: bytes.Clone(masterKey), st: state{Environments: map[string]*envKeys{}},
		incomplete: map[string]struct{}{}}
}

// Name implements projections.Projection.
func (k *Keyring) Name() string { return Name }

// New implements projections.Projection: an empty keyring with the same master key.
func (k *Keyring) New() projections.Projection { return New(k.master) }

// LogValue keeps the master key out of logs.
func (k *Keyring) LogValue() slog.Value {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slog.GroupValue(slog.String("projection", Name), slog.Int("environments", len(k.st.Environments)))
}

// Apply implements projections.Projection. It never decrypts: a wrong master key shows in
// SigningKey, not here.
func (k *Keyring) Apply(rec domain.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.apply(rec); err != nil {
		return err
	}
	k.track(rec.Environment)
	return nil
}

// track keeps env in or out of the incomplete set. Called with the write lock held.
func (k *Keyring) track(env string) {
	e := k.st.Environments[env]
	if e == nil {
		return
	}
	if e.Primary == "" || e.Next == "" {
		k.incomplete[env] = struct{}{}
	} else {
		delete(k.incomplete, env)
	}
}

// apply changes the state by rec. Called with the write lock held.
func (k *Keyring) apply(rec domain.Record) error {
	switch e := rec.Event.(type) {
	case signingkey.Created:
		env := k.st.Environments[rec.Environment]
		if env == nil {
			env = &envKeys{Keys: map[string]*storedKey{}}
			k.st.Environments[rec.Environment] = env
		}
		if _, dup := env.Keys[e.KID]; dup {
			return fmt.Errorf("signing key %s of %s created twice", e.KID, rec.Environment)
		}
		alg := ""
		if e.Alg != environment.SigningRS256 {
			alg = e.Alg // RS256 stays implicit: checkpoints keep their former encoding
		}
		sk := &storedKey{KID: e.KID, Alg: alg, Role: signingkey.RoleNext, PublicJWK: bytes.Clone(e.PublicJWK),
			PrivateKey: bytes.Clone(e.PrivateKey), CreatedAt: rec.OccurredAt.UTC()}
		env.Keys[e.KID] = sk
		env.Next = e.KID
	case signingkey.Promoted:
		env, sk, err := k.find(rec.Environment, e.KID)
		if err != nil {
			return err
		}
		sk.Role, env.Primary = signingkey.RolePrimary, e.KID
		if env.Next == e.KID {
			env.Next = ""
		}
	case signingkey.Retired:
		env, sk, err := k.find(rec.Environment, e.KID)
		if err != nil {
			return err
		}
		sk.Role, sk.VerifyUntil = signingkey.RoleRetired, e.VerifyUntil.UTC()
		if env.Primary == e.KID {
			env.Primary = ""
		}
		if env.Next == e.KID {
			env.Next = ""
		}
	}
	return nil
}

func (k *Keyring) find(env, kid string) (*envKeys, *storedKey, error) {
	if e := k.st.Environments[env]; e != nil {
		if sk := e.Keys[kid]; sk != nil {
			return e, sk, nil
		}
	}
	return nil, nil, fmt.Errorf("unknown signing key %s of %s", kid, env)
}

// public returns the key's clean public JWK and raw key, parsing them on the first call
// (safe under the read lock: the fields it sets are guarded by sk.parsed).
func (sk *storedKey) public() (jwk.Key, crypto.PublicKey) {
	sk.parsed.Do(sk.parsePublic)
	return sk.pub, sk.rawPub
}

// parsePublic keeps a clean public key (kty, kid, use, alg and the key's own members) built
// from PublicJWK, of the type the key's algorithm requires.
func (sk *storedKey) parsePublic() {
	parsed, err := jwk.ParseKey(sk.PublicJWK)
	if err != nil {
		return
	}
	var raw crypto.PublicKey
	switch sk.alg() {
	case environment.SigningRS256:
		var r rsa.PublicKey
		err, raw = parsed.Raw(&r), &r
	case environment.SigningES256:
		var e ecdsa.PublicKey
		err, raw = parsed.Raw(&e), &e
		if err == nil && e.Curve != elliptic.P256() {
			return
		}
	default:
		return
	}
	if err != nil {
		return
	}
	pub, err := jwk.FromRaw(raw)
	if err != nil || setHeaders(pub, sk.KID, sk.alg()) != nil {
		return
	}
	sk.pub, sk.rawPub = pub, raw
}

// Snapshot implements projections.Projection (maps in sorted order: deterministic).
func (k *Keyring) Snapshot() ([]byte, error) { return projections.SnapshotBytes(k) }

// WriteSnapshot implements projections.Streamer: one environment at a time, under the read
// lock for that environment only.
func (k *Keyring) WriteSnapshot(w io.Writer) error {
	e := projections.NewSnapshotEncoder(w, k.mu.RLocker())
	projections.EncodeMap(e, "environments", k.st.Environments)
	return e.Close()
}

// Restore implements projections.Projection.
func (k *Keyring) Restore(b []byte) error { return k.RestoreFrom(bytes.NewReader(b)) }

// RestoreFrom implements projections.Streamer.
func (k *Keyring) RestoreFrom(r io.Reader) error {
	st := state{Environments: map[string]*envKeys{}}
	err := projections.DecodeObject(json.NewDecoder(r), map[string]func(*json.Decoder) error{
		"environments": func(d *json.Decoder) error { return projections.DecodeMap(d, st.Environments) },
	})
	if err != nil {
		return fmt.Errorf("restore keys: %w", err)
	}
	for name, env := range st.Environments {
		if env == nil {
			return fmt.Errorf("restore keys: environment %s has no keys", name)
		}
		if env.Keys == nil {
			env.Keys = map[string]*storedKey{}
		}
		for kid, sk := range env.Keys {
			if sk == nil {
				return fmt.Errorf("restore keys: key %s of %s is empty", kid, name)
			}
		}
	}
	k.mu.Lock()
	k.st, k.incomplete = st, map[string]struct{}{}
	for name := range st.Environments {
		k.track(name)
	}
	k.mu.Unlock()
	return nil
}
