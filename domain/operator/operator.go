// Package operator holds the decision that makes a person an operator of an account,
// creating their user in the operators' environment in the same append when the address
// is new: an operator never exists without a user, nor a new user half-made an operator.
package operator

import (
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/user"
)

// Add makes UserID an operator of Account. NewUser, when set, creates that user (its ID
// must be UserID, its environment the operators') in the same append.
type Add struct {
	Account string
	UserID  string
	Email   string
	NewUser *user.Create
}

func (c Add) add() account.AddOperator {
	return account.AddOperator{Account: c.Account, UserID: c.UserID, Email: user.NormalizeEmail(c.Email)}
}

// Streams implements domain.Command: the account, then the new user's streams.
func (c Add) Streams() []domain.StreamRef {
	refs := c.add().Streams()
	if c.NewUser != nil {
		refs = append(refs, c.NewUser.Streams()...)
	}
	return refs
}

// Decide implements domain.Command.
func (c Add) Decide(h [][]domain.Event, now time.Time) ([][]domain.Event, error) {
	out, err := c.add().Decide(h[:1], now)
	if err != nil {
		return nil, err
	}
	if c.NewUser == nil {
		return out, nil
	}
	if c.NewUser.ID != c.UserID || c.NewUser.Environment != domain.OperatorsEnvironment {
		return nil, domain.Invalid("user_id", "the new user must be the operator, in the operators' environment")
	}
	created, err := c.NewUser.Decide(h[1:], now)
	if err != nil {
		return nil, err
	}
	return append(out, created...), nil
}
