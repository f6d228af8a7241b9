package app

import (
	"context"
	"fmt"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
)

func userChange(req UserRef, name *string, disable *bool) user.Change {
	return user.Change{Environment: req.Environment, UserID: req.UserID, Name: name, Disable: disable}
}

// RenameUser changes a user's display name.
func (a *App) RenameUser(ctx context.Context, req UserRef, name string, actor domain.Actor) (Written, error) {
	res, err := a.loop.Execute(ctx, userChange(req, &name, nil), actor)
	return Written{Position: res.Position}, err
}

// CreateUser asks for a user of an environment.
type CreateUser struct {
	Environment string
	Email       string
	Name        string
	// Password is what user.NewPassword accepted: the one policy. A zero Password (one the
	// policy never saw) is refused.
	Password      user.Password
	EmailVerified bool
}

// UserCreated is the outcome of CreateUser.
type UserCreated struct {
	UserID   string
	Position int64
}

// CreateUser hashes the password with the process's hasher (a busy hasher is
// secret.ErrBusy: answer 503) and creates the user; a taken address is user.ErrEmailTaken.
func (a *App) CreateUser(ctx context.Context, req CreateUser, actor domain.Actor) (UserCreated, error) {
	hash, err := a.hashPassword(ctx, req.Password)
	if err != nil {
		return UserCreated{}, err
	}
	id := secret.ID()
	res, err := a.loop.Execute(ctx, user.Create{Environment: req.Environment, ID: id, Email: req.Email, Name: req.Name,
		PasswordHash: hash, EmailVerified: req.EmailVerified}, actor)
	if err != nil {
		return UserCreated{}, err
	}
	return UserCreated{UserID: id, Position: res.Position}, nil
}

func (a *App) hashPassword(ctx context.Context, pw user.Password) (user.PasswordHash, error) {
	if a.hasher == nil {
		return user.PasswordHash{}, fmt.Errorf("hash password: this App has no hasher")
	}
	hash := a.hasher.Func(ctx)
	return user.HashedPassword(pw, func(plain string) (string, error) {
		phc, err := hash(plain)
		if err != nil {
			return "", err
		}
		return secret.SealPassword(a.masterKey, phc) // events never show the hash to readers
	})
}
