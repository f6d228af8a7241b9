package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
)

// Self-service registration in three steps: an address gets a passcode by mail, the
// passcode gives a registration token, the token and a password create the user.

// StartRegistration begins a registration for an address and returns its id. The answer is
// the same whether or not the address has an account (no enumeration); the mail differs.
func (a *App) StartRegistration(ctx context.Context, env, email string, b Browser) (string, error) {
	id := secret.ID()
	_, err := a.loop.Execute(ctx, registration.Start{Environment: env, RegistrationID: id, Email: email}, b.actor(""))
	return id, err
}

// VerifyRegistration checks a registration's passcode and returns the registration token
// (shown once). A wrong passcode is recorded against the attempts and answers
// registration.ErrWrongCode.
func (a *App) VerifyRegistration(ctx context.Context, env, registrationID, passcode string, b Browser) (string, error) {
	tok := registrationID + "." + secret.Token()
	res, err := a.loop.Execute(ctx, registration.Verify{Environment: env, RegistrationID: registrationID,
		Passcode: strings.TrimSpace(passcode), Key: registration.Key(a.masterKey), TokenHash: secret.Hash(tok)}, b.actor(""))
	if err != nil {
		return "", err
	}
	if appended[registration.PasscodeFailed](res) {
		return "", registration.ErrWrongCode
	}
	return tok, nil
}

// CompleteRegistration asks to create the user of a verified registration.
type CompleteRegistration struct {
	Environment string
	// Token is the registration token VerifyRegistration gave.
	Token string
	// Email is the address the form shows: the password policy is checked against it before
	// anything is looked up.
	Email    string
	Name     string
	Password string
	Browser  Browser
	// SessionTTL, when set, signs the new user in at once: a session of this lifetime starts
	// (with the password's amr), ending the browser's Previous one. Zero: no session (the
	// person signs in afterwards).
	SessionTTL time.Duration
	Previous   string
}

// Registered is the user a registration created, and their session when one was asked for.
type Registered struct {
	UserID  string
	Email   string
	Session *StartedSession
}

// CompleteRegistration checks the password against the policy, hashes it within the
// process's budget (secret.ErrBusy when spent) and creates the user, email verified.
func (a *App) CompleteRegistration(ctx context.Context, req CompleteRegistration) (Registered, error) {
	id := secret.ID()
	regID, _, _ := strings.Cut(req.Token, ".")
	if _, err := user.NewPassword(req.Password, req.Email); err != nil { // the form's answer before any lookup
		return Registered{}, err
	}
	email, err := a.registrationEmail(ctx, req.Environment, regID)
	if err != nil {
		return Registered{}, err
	}
	pw, err := user.NewPassword(req.Password, email)
	if err != nil {
		return Registered{}, err
	}
	hash, err := a.hashPassword(ctx, pw) // sealed, as every other face's
	if err != nil {
		return Registered{}, err
	}
	_, err = a.loop.Execute(ctx, registration.Complete{Environment: req.Environment, RegistrationID: regID,
		TokenHash: secret.Hash(req.Token), User: user.Create{Environment: req.Environment, ID: id, Email: email, Name: req.Name,
			PasswordHash: hash, EmailVerified: true}}, req.Browser.actor(""))
	if err != nil {
		return Registered{}, err
	}
	out := Registered{UserID: id, Email: email}
	if req.SessionTTL > 0 {
		started, err := a.StartSession(ctx, StartSession{Environment: req.Environment, UserID: id, TTL: req.SessionTTL,
			Previous: req.Previous, Browser: req.Browser})
		if err != nil {
			return out, fmt.Errorf("the account exists; start its session: %w", err)
		}
		out.Session = &started
	}
	return out, nil
}

// registrationEmail reads the address a registration was started for.
func (a *App) registrationEmail(ctx context.Context, env, regID string) (string, error) {
	if regID == "" {
		return "", registration.ErrBadToken
	}
	hist, err := a.history(ctx, registration.Stream(env, regID))
	if err != nil {
		return "", err
	}
	s := registration.Fold(hist)
	if s.Started == nil {
		return "", registration.ErrBadToken
	}
	return s.Started.Email, nil
}
