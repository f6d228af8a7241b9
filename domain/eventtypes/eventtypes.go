// Package eventtypes lists every event type Paylent stores, with its schema version and
// upcasters. It is the one place a new event type is registered.
package eventtypes

import (
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/environment"
)

// Registry returns a registry of every event type of this build.
func Registry() *domain.Registry {
	r := domain.NewRegistry()
	domain.Register[account.Created](r, 1)
	domain.Register[environment.Created](r, 1)
	domain.Register[environment.SettingsChanged](r, 1)
	return r
}
