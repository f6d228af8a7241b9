package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
)

// Passkeys (WebAuthn, through github.com/go-webauthn/webauthn): registered by a signed-in
// person, then a way to sign in by themselves (discoverable credentials: the authenticator
// names the user). User verification is required, so a passkey sign-in is multi-factor.
// The ceremony's state (its challenge) is returned to the face, which keeps it bound to the
// browser between the two requests; only public key material enters events.

// ceremonyTimeout is how long a ceremony may take (WebAuthn's own default is 5 minutes).
const ceremonyTimeout = 5 * time.Minute

// ErrPasskeyFailed: the passkey could not be verified (every reason looks the same).
var ErrPasskeyFailed = errors.New("the passkey could not be verified")

// RelyingParty is the WebAuthn relying party of an environment: its host without the port
// (the RP id), its origin (the issuer) and its display name.
type RelyingParty struct {
	ID     string
	Origin string
	Name   string
}

func (rp RelyingParty) webauthn() (*webauthn.WebAuthn, error) {
	// The ceremonies' end is enforced (and is in their state): a sign-in's challenge is
	// remembered as used until then (factor.UsePasskey).
	limit := webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTimeout, TimeoutUVD: ceremonyTimeout}
	w, err := webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: rp.Name, RPOrigins: []string{rp.Origin},
		Timeouts: webauthn.TimeoutsConfig{Login: limit, Registration: limit}})
	if err != nil {
		return nil, fmt.Errorf("webauthn relying party %s: %w", rp.ID, err)
	}
	return w, nil
}

// passkeyUser is a user as go-webauthn sees them: the user handle is the user id.
type passkeyUser struct {
	user  catalog.User
	creds []webauthn.Credential
}

func (u passkeyUser) WebAuthnID() []byte                         { return []byte(u.user.ID) }
func (u passkeyUser) WebAuthnName() string                       { return u.user.Email }
func (u passkeyUser) WebAuthnDisplayName() string                { return u.user.Name }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credentials rebuilds go-webauthn's credentials from the factors' state.
func credentials(s factor.State) []webauthn.Credential {
	var out []webauthn.Credential
	for _, p := range s.Passkeys {
		id, err1 := base64.RawURLEncoding.DecodeString(p.CredentialID)
		pub, err2 := base64.RawURLEncoding.DecodeString(p.PublicKey)
		aaguid, _ := hex.DecodeString(p.AAGUID)
		if err1 != nil || err2 != nil {
			continue
		}
		c := webauthn.Credential{ID: id, PublicKey: pub, AttestationType: p.AttestationType,
			Flags:         webauthn.NewCredentialFlags(protocol.AuthenticatorFlags(p.Flags)),
			Authenticator: webauthn.Authenticator{AAGUID: aaguid, SignCount: p.SignCount}}
		for _, t := range p.Transports {
			c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
		}
		out = append(out, c)
	}
	return out
}

// passkeyUserOf reads a user who may use passkeys, with their credentials.
func (a *App) passkeyUserOf(ctx context.Context, env, userID string) (passkeyUser, factor.State, error) {
	u, ok := a.user(ctx, env, userID)
	if !ok || u.Disabled {
		return passkeyUser{}, factor.State{}, factor.ErrUserCannot
	}
	s, err := a.factorState(ctx, env, userID)
	if err != nil {
		return passkeyUser{}, s, err
	}
	return passkeyUser{user: u, creds: credentials(s)}, s, nil
}

// Ceremony is a WebAuthn ceremony begun: the options for navigator.credentials (JSON, for
// the browser) and its state, to be kept bound to the browser and handed back to finish it.
type Ceremony struct {
	Options json.RawMessage
	State   []byte
}

// BeginPasskeyRegistration starts registering a passkey for a signed-in user: a
// discoverable credential with user verification, excluding the ones they have.
func (a *App) BeginPasskeyRegistration(ctx context.Context, env, userID string, rp RelyingParty) (Ceremony, error) {
	w, err := rp.webauthn()
	if err != nil {
		return Ceremony{}, err
	}
	u, _, err := a.passkeyUserOf(ctx, env, userID)
	if err != nil {
		return Ceremony{}, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, state, err := w.BeginRegistration(u, webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationRequired}))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	return ceremony(creation.Response, state)
}

func ceremony(options any, state *webauthn.SessionData) (Ceremony, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, err
	}
	s, err := json.Marshal(state)
	return Ceremony{Options: o, State: s}, err
}

// FinishPasskey asks to finish a passkey ceremony with the browser's answer.
type FinishPasskey struct {
	Environment string
	// UserID is the signed-in user (registration only).
	UserID   string
	RP       RelyingParty
	State    []byte
	Response []byte
	// Name is what the person calls the passkey (registration only).
	Name    string
	Browser Browser
	// MultiFactor: registration from a session that proved a second factor or a passkey
	// (acr mfa); required once the user has either (factor.ErrStepUp).
	MultiFactor bool
}

// FinishPasskeyRegistration verifies the new credential and records its public key.
func (a *App) FinishPasskeyRegistration(ctx context.Context, req FinishPasskey) (Factor, error) {
	w, err := req.RP.webauthn()
	if err != nil {
		return Factor{}, err
	}
	u, _, err := a.passkeyUserOf(ctx, req.Environment, req.UserID)
	if err != nil {
		return Factor{}, err
	}
	var state webauthn.SessionData
	if err := json.Unmarshal(req.State, &state); err != nil || string(state.UserID) != req.UserID {
		return Factor{}, ErrPasskeyFailed
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(req.Response)
	if err != nil {
		return Factor{}, fmt.Errorf("%w: %v", ErrPasskeyFailed, err)
	}
	cred, err := w.CreateCredential(u, state, parsed)
	if err != nil {
		return Factor{}, fmt.Errorf("%w: %v", ErrPasskeyFailed, err)
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = "Passkey"
	}
	ev := factor.PasskeyRegistered{FactorID: "passkey-" + secret.ID(), CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID),
		PublicKey: base64.RawURLEncoding.EncodeToString(cred.PublicKey), AAGUID: hex.EncodeToString(cred.Authenticator.AAGUID),
		SignCount: cred.Authenticator.SignCount, Flags: uint8(cred.Flags.ProtocolValue()), AttestationType: cred.AttestationType, Name: name}
	for _, t := range cred.Transport {
		ev.Transports = append(ev.Transports, string(t))
	}
	if _, err := a.loop.Execute(ctx, factor.RegisterPasskey{Environment: req.Environment, UserID: req.UserID, Passkey: ev,
		MultiFactor: req.MultiFactor},
		req.Browser.actor(req.UserID)); err != nil {
		return Factor{}, err
	}
	return Factor{ID: ev.FactorID, Kind: factor.KindPasskey, Status: FactorActive, Name: name}, nil
}

// BeginPasskeySignIn starts a sign-in with a discoverable passkey (no user named yet).
func (a *App) BeginPasskeySignIn(rp RelyingParty) (Ceremony, error) {
	w, err := rp.webauthn()
	if err != nil {
		return Ceremony{}, err
	}
	assertion, state, err := w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return ceremony(assertion.Response, state)
}

// PasskeySignedIn is who a passkey signed in, and how (amr).
type PasskeySignedIn struct {
	User catalog.User
	AMR  []string
}

// FinishPasskeySignIn verifies the assertion against the passkeys of the user the
// authenticator names, and records the use (a counter that went backwards is refused).
func (a *App) FinishPasskeySignIn(ctx context.Context, req FinishPasskey) (PasskeySignedIn, error) {
	w, err := req.RP.webauthn()
	if err != nil {
		return PasskeySignedIn{}, err
	}
	var state webauthn.SessionData
	if err := json.Unmarshal(req.State, &state); err != nil {
		return PasskeySignedIn{}, ErrPasskeyFailed
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(req.Response)
	if err != nil {
		return PasskeySignedIn{}, fmt.Errorf("%w: %v", ErrPasskeyFailed, err)
	}
	var who passkeyUser
	handler := func(_, userHandle []byte) (webauthn.User, error) {
		u, _, err := a.passkeyUserOf(ctx, req.Environment, string(userHandle))
		who = u
		return u, err
	}
	_, cred, err := w.ValidatePasskeyLogin(handler, state, parsed)
	if err != nil {
		return PasskeySignedIn{}, fmt.Errorf("%w: %v", ErrPasskeyFailed, err)
	}
	// The challenge is recorded with the use: the same assertion, sent again with the same
	// ceremony state, is refused by the decision (whatever the authenticator's counter).
	challenge := sha256.Sum256([]byte(state.Challenge))
	if _, err := a.loop.Execute(ctx, factor.UsePasskey{Environment: req.Environment, UserID: who.user.ID,
		CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID), SignCount: cred.Authenticator.SignCount,
		Flags: uint8(cred.Flags.ProtocolValue()), Challenge: hex.EncodeToString(challenge[:]), ChallengeExpires: state.Expires},
		req.Browser.actor(who.user.ID)); err != nil {
		return PasskeySignedIn{}, fmt.Errorf("%w: %w", ErrPasskeyFailed, err)
	}
	method := session.AMRHardwareKey
	if cred.Flags.BackupEligible {
		method = session.AMRSoftwareKey // a synced passkey
	}
	return PasskeySignedIn{User: who.user, AMR: []string{method, session.AMRMulti}}, nil
}
