// Package eventtypes lists every event type Paylent stores, with its schema version and
// upcasters. It is the one place a new event type is registered.
package eventtypes

import (
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/authcode"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/consent"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/grant"
	"github.com/paylent/paylent/domain/mail"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/resource"
	"github.com/paylent/paylent/domain/scope"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/signingkey"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/domain/user"
)

// Registry returns a registry of every event type of this build.
func Registry() *domain.Registry {
	r := domain.NewRegistry()
	domain.Register[account.Created](r, 1)
	domain.Register[account.OperatorAdded](r, 1)
	domain.Register[account.OperatorRemoved](r, 1)
	// v2: signing_alg (RS256 or ES256), the algorithm of the environment's keys; v1 events
	// have none, which reads as RS256.
	domain.Register[environment.Created](r, 2, same)
	domain.Register[environment.SettingsChanged](r, 1)
	domain.Register[scope.Created](r, 1)
	domain.Register[scope.Deleted](r, 1)
	domain.Register[scope.Updated](r, 1)
	domain.Register[client.Registered](r, 1)
	domain.Register[client.Updated](r, 1)
	domain.Register[client.SecretRotated](r, 1)
	domain.Register[client.Deleted](r, 1)
	// v2: password_hash is sealed with the master key ("sealed:v1:…"); v1 held the PHC
	// string itself. The shape is the same, so the upcaster leaves the data as it is.
	domain.Register[user.Created](r, 2, func(b []byte) ([]byte, error) { return b, nil })
	domain.Register[user.EmailClaimed](r, 1)
	domain.Register[user.LoginFailed](r, 1)
	domain.Register[user.Updated](r, 1)
	domain.Register[user.Disabled](r, 1)
	domain.Register[user.Enabled](r, 1)
	domain.Register[user.Deleted](r, 1)
	domain.Register[user.EmailReleased](r, 1)
	domain.Register[user.PasswordChanged](r, 1)
	domain.Register[user.SignInsEnded](r, 1)
	domain.Register[user.PasswordRehashed](r, 1)
	domain.Register[factor.TOTPEnrolled](r, 1)
	domain.Register[factor.TOTPConfirmed](r, 1)
	domain.Register[factor.TOTPUsed](r, 1)
	domain.Register[factor.RecoveryCodeUsed](r, 1)
	domain.Register[factor.CodeFailed](r, 1)
	domain.Register[factor.Removed](r, 1)
	domain.Register[factor.PasskeyRegistered](r, 1)
	domain.Register[factor.PasskeyUsed](r, 1)
	// v2 of session.started, authcode.issued and grant.created: amr and acr (how the person
	// signed in) may be present; v1 events have none, which reads as a password alone.
	domain.Register[session.Started](r, 2, same)
	domain.Register[session.Touched](r, 1)
	domain.Register[session.Revoked](r, 1)
	domain.Register[consent.Granted](r, 1)
	domain.Register[consent.Revoked](r, 1)
	domain.Register[registration.Started](r, 1)
	domain.Register[registration.PasscodeFailed](r, 1)
	domain.Register[registration.Verified](r, 1)
	domain.Register[registration.Completed](r, 1)
	domain.Register[recovery.Started](r, 1)
	domain.Register[recovery.PasscodeFailed](r, 1)
	domain.Register[recovery.Verified](r, 1)
	domain.Register[recovery.Completed](r, 1)
	domain.Register[mail.Sent](r, 1)
	domain.Register[resource.Created](r, 1)
	domain.Register[token.Issued](r, 2, same) // v2: auth_time, acr, amr of user tokens
	domain.Register[token.Revoked](r, 1)
	domain.Register[authcode.Issued](r, 2, same)
	domain.Register[authcode.Redeemed](r, 1)
	domain.Register[authcode.ReplayDetected](r, 1)
	domain.Register[grant.Created](r, 2, same)
	domain.Register[grant.Rotated](r, 1)
	domain.Register[grant.RotationRetried](r, 1)
	domain.Register[grant.ReuseDetected](r, 1)
	domain.Register[grant.Revoked](r, 1)
	// v2: alg may be ES256 (public_jwk then an EC P-256 key); every v1 key is RS256.
	domain.Register[signingkey.Created](r, 2, same)
	domain.Register[signingkey.Promoted](r, 1)
	domain.Register[signingkey.Retired](r, 1)
	return r
}

// same is the upcaster of a version that only added optional fields.
func same(b []byte) ([]byte, error) { return b, nil }
