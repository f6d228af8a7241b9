package app

import (
	"context"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
)

func userChange(req UserRef, name *string, disable *bool) user.Change {
	return user.Change{Environment: req.Environment, UserID: req.UserID, Name: name, Disable: disable}
}

// RenameUser changes a user's display name.
func (a *App) RenameUser(ctx context.Context, req UserRef, name string, actor domain.Actor) (int64, error) {
	res, err := a.loop.Execute(ctx, userChange(req, &name, nil), actor)
	return res.Position, err
}
