package keys

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/projections"
)

// Name is the projection name.
const Name = "keys"

// storedKey is one key as snapshots hold it, plus its parsed public key.
type storedKey struct {
	KID         string          `json:"kid"`
	Role        signingkey.Role `json:"role"`
	PublicJWK   json.RawMessage `json:"public_jwk"`
	PrivateKey  []byte          `json:"private_key"` // sealed with the master key, never in clear
	CreatedAt   time.Time       `json:"created_at"`
	VerifyUntil time.Time       `json:"verify_until,omitzero"`

	pub    jwk.Key        // public JWK of kty, kid, use, alg, n, e; nil if PublicJWK does not parse
	rsaPub *rsa.PublicKey // the same key, to check the private key against
}

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
}

var _ projections.Projection = (*Keyring)(nil)

// New returns an empty keyring that opens private keys with masterKey (copied).
func New(masterKey []byte) *Keyring {
	return &Keyring{master: bytes.Clone(masterKey), st: state{Environments: map[string]*envKeys{}}}
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
		sk := &storedKey{KID: e.KID, Role: signingkey.RoleNext, PublicJWK: bytes.Clone(e.PublicJWK),
			PrivateKey: bytes.Clone(e.PrivateKey), CreatedAt: rec.OccurredAt.UTC()}
		sk.parsePublic()
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

// parsePublic keeps a clean public key (kty, kid, use, alg, n, e) built from PublicJWK.
func (sk *storedKey) parsePublic() {
	sk.pub, sk.rsaPub = nil, nil
	parsed, err := jwk.ParseKey(sk.PublicJWK)
	if err != nil {
		return
	}
	var raw rsa.PublicKey
	if err := parsed.Raw(&raw); err != nil {
		return
	}
	pub, err := jwk.FromRaw(&raw)
	if err != nil || setHeaders(pub, sk.KID) != nil {
		return
	}
	sk.pub, sk.rsaPub = pub, &raw
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
			sk.parsePublic()
		}
	}
	k.mu.Lock()
	k.st = st
	k.mu.Unlock()
	return nil
}
