package app

import (
	"context"
	"log/slog"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/operator"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
)

// AccountAuthority is who may change an account's operators: the host (Paylent's CLI, run
// with the database's credentials) or a signed-in operator of that very account. Its zero
// value is nobody.
type AccountAuthority struct {
	Host bool
	// Operator is a signed-in operator's user id in the operators' environment.
	Operator string
}

// mayOperate refuses an authority that does not hold the account. A signed-in operator is
// checked against the catalog as is: the dashboard made it current before the request.
func (a *App) mayOperate(auth AccountAuthority, acct string) error {
	if auth.Host {
		return nil
	}
	if auth.Operator != "" && a.rm.Catalog != nil {
		if ac, ok := a.rm.Catalog.Account(acct); ok {
			if _, ok := ac.Operators[auth.Operator]; ok {
				return nil
			}
		}
	}
	return domain.Forbidden("only an operator of account %s may change its operators", acct)
}

// AddOperator asks that the person with Email operate Account. A new address gets a user
// in the operators' environment, with Password or, when it is zero, a generated one.
type AddOperator struct {
	Account string
	Email   string
	Name    string
	// Password is what user.NewPassword accepted; zero generates one (returned once).
	Password user.Password
}

// OperatorAdded is the outcome of AddOperator.
type OperatorAdded struct {
	UserID string
	// Created says the user was created now; Generated is their generated password, shown
	// once and stored nowhere ("" when given or when the user existed).
	Created   bool
	Generated string
	Position  int64
}

// LogValue implements slog.LogValuer without the password.
func (r OperatorAdded) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", r.UserID), slog.Bool("created", r.Created), slog.Int64("position", r.Position))
}

// AddOperator makes the person an operator of the account, creating their user in the
// same append when the address is new (operator.Add). The account must exist and may not be
// the operators' own.
func (a *App) AddOperator(ctx context.Context, req AddOperator, auth AccountAuthority, actor domain.Actor) (OperatorAdded, error) {
	if err := a.mayOperate(auth, req.Account); err != nil {
		return OperatorAdded{}, err
	}
	var out OperatorAdded
	var err error
	if out.UserID, err = a.OperatorUserID(ctx, req.Email); err != nil {
		return OperatorAdded{}, err
	}
	cmd := operator.Add{Account: req.Account, UserID: out.UserID, Email: req.Email}
	if out.UserID == "" {
		pw := req.Password
		if pw == (user.Password{}) {
			out.Generated = secret.Random(16)
			if pw, err = user.NewPassword(out.Generated, req.Email); err != nil {
				return OperatorAdded{}, err
			}
		}
		hash, err := a.hashPassword(ctx, pw)
		if err != nil {
			return OperatorAdded{}, err
		}
		out.UserID, out.Created = secret.ID(), true
		cmd.UserID = out.UserID
		cmd.NewUser = &user.Create{Environment: domain.OperatorsEnvironment, ID: out.UserID, Email: req.Email, Name: req.Name,
			PasswordHash: hash, EmailVerified: true}
	}
	res, err := a.loop.Execute(ctx, cmd, actor)
	if err != nil {
		return OperatorAdded{}, err
	}
	out.Position = res.Position
	return out, nil
}

// RemoveOperator asks that an operator no longer operate an account.
type RemoveOperator struct {
	Account string
	UserID  string
}

// RemoveOperator takes an operator's access to the account away. An account keeps at least
// one operator (account.ErrLastOperator); one who does not operate it is domain.ErrNotFound.
func (a *App) RemoveOperator(ctx context.Context, req RemoveOperator, auth AccountAuthority, actor domain.Actor) (Written, error) {
	if err := a.mayOperate(auth, req.Account); err != nil {
		return Written{}, err
	}
	res, err := a.loop.Execute(ctx, account.RemoveOperator{Account: req.Account, UserID: req.UserID}, actor)
	return Written{Position: res.Position}, err
}

// OperatorUserID finds the user of the operators' environment holding email ("" if none),
// reading the address's stream: current, and without read models.
func (a *App) OperatorUserID(ctx context.Context, email string) (string, error) {
	hist, err := a.loop.Read(ctx, user.EmailStream(domain.OperatorsEnvironment, email))
	if err != nil {
		return "", err
	}
	id := ""
	for _, e := range hist {
		switch ev := e.(type) {
		case user.EmailClaimed:
			id = ev.UserID
		case user.EmailReleased:
			id = ""
		}
	}
	return id, nil
}
