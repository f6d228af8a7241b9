package projections_test

import (
	"testing"
	"time"

	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/mailqueue"
	"github.com/paylent/paylent/projections/projectiontest"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/projections/tokens"
)

// Every read model passes the one conformance suite over a log of every event type, in two
// environments that hold look-alike data.
func TestReadModelsConform(t *testing.T) {
	reg := eventtypes.Registry()
	envs := []string{"acme-test", "acme-live"}
	log := projectiontest.Log(t, reg, envs...)
	seen := map[string]bool{}
	for _, rec := range log {
		seen[rec.Type] = true
	}
	for _, typ := range reg.Types() {
		if !seen[typ] {
			t.Errorf("the conformance log has no %s: add it to projectiontest.Log", typ)
		}
	}
	later := projectiontest.Start.Add(time.Hour)
	models := map[string]projectiontest.Model{
		catalog.Name: {New: func() projections.Projection { return catalog.New() },
			Answers: func(p projections.Projection, env string) any {
				c := p.(*catalog.Catalog)
				e, _ := c.Environment(env)
				a, _ := c.Account(e.Account)
				alice, _ := c.UserByEmail(env, env+"-alice@example.com")
				return map[string]any{"environment": e, "account": a, "clients": c.Clients(env), "scopes": c.Scopes(env),
					"apis": c.APIs(env), "users": c.Users(env, "", "", 100), "alice": alice,
					"operator_of": c.OperatorAccounts(env + "-alice")}
			}},
		tokens.Name: {New: func() projections.Projection { return tokens.New() },
			Answers: func(p projections.Projection, env string) any {
				s := p.(*tokens.Store)
				out := map[string]any{}
				for _, name := range []string{"code-1-a1", "code-1-r1", "code-1-a2", "code-1-r2", "code-1-a3", "code-2-a1", "code-2-r1", "cc", "jwt-access-token"} {
					jti := env + "-" + name
					tok, ok := s.ByJTI(env, jti)
					out[name] = map[string]any{"token": tok, "known": ok, "revoked": s.IsRevoked(env, jti)}
				}
				grants, standalone := s.Held(env, "", "", later)
				out["held"] = []any{grants, standalone}
				out["grants_of_alice"] = s.GrantsOf(env, env+"-alice", env+"-web")
				return out
			}},
		sessions.Name: {New: func() projections.Projection { return sessions.New() },
			Answers: func(p projections.Projection, env string) any {
				s := p.(*sessions.Store)
				return map[string]any{"all": s.All(env), "alice": s.OfUser(env, env+"-alice"),
					"consents": s.ConsentsOf(env, env+"-alice")}
			}},
		keys.Name: {New: func() projections.Projection { return keys.New(make([]byte, 32)) },
			Answers: func(p projections.Projection, env string) any {
				k := p.(*keys.Keyring)
				return map[string]any{"keys": k.Keys(env), "complete": k.Complete(env)}
			}},
		mailqueue.Name: {New: func() projections.Projection { return mailqueue.New() },
			Answers: func(p projections.Projection, env string) any {
				var mine []mailqueue.Message
				for _, msg := range p.(*mailqueue.Queue).Due(projectiontest.Start.Add(-time.Hour)) {
					if msg.Environment == env {
						mine = append(mine, msg)
					}
				}
				return mine
			}},
	}
	for name, m := range models {
		t.Run(name, func(t *testing.T) { projectiontest.Run(t, m, log, envs) })
	}
}
