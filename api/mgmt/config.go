package mgmt

import (
	"bufio"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/tenants"
	"github.com/valyala/fasthttp"
)

// CreateScope serves POST /api/v1/scopes.
func (h *Handlers) CreateScope(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		API         string `json:"api"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	res, err := h.App.CreateScope(c.UserContext(), app.CreateScope{Environment: t.Slug, Name: in.Name, Description: in.Description, API: in.API}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", res.Position); err != nil {
		return err
	}
	s, _ := h.Catalog.Scope(t.Slug, in.Name)
	return wrote(c, fiber.StatusCreated, res.Position, fiber.Map{"scope": s})
}

// ListScopes serves GET /api/v1/scopes (standard scopes first, marked).
func (h *Handlers) ListScopes(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"scopes": h.Catalog.Scopes(t.Slug)})
}

// UpdateScope serves PATCH /api/v1/scopes/:name: a custom scope's description and API, the
// fields the body has ("api": "" takes the scope out of its API).
func (h *Handlers) UpdateScope(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		Description *string `json:"description"`
		API         *string `json:"api"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	name := c.Params("name")
	res, err := h.App.UpdateScope(c.UserContext(), app.UpdateScope{Environment: t.Slug, Name: name, Description: in.Description,
		API: in.API}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", res.Position); err != nil {
		return err
	}
	s, _ := h.Catalog.Scope(t.Slug, name)
	return wrote(c, fiber.StatusOK, res.Position, fiber.Map{"scope": s})
}

// DeleteScope serves DELETE /api/v1/scopes/:name (standard scopes cannot be deleted).
func (h *Handlers) DeleteScope(c *fiber.Ctx, t tenants.Tenant) error {
	res, err := h.App.DeleteScope(c.UserContext(), app.ScopeRef{Environment: t.Slug, Name: c.Params("name")}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", res.Position); err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, res.Position, fiber.Map{"deleted": true})
}

// CreateAPI serves POST /api/v1/apis.
func (h *Handlers) CreateAPI(c *fiber.Ctx, t tenants.Tenant) error {
	var in struct {
		Identifier string `json:"identifier"`
		Name       string `json:"name"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	res, err := h.App.CreateAPI(c.UserContext(), app.CreateAPI{Environment: t.Slug, Identifier: in.Identifier, Name: in.Name}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", res.Position); err != nil {
		return err
	}
	a, _ := h.Catalog.API(t.Slug, in.Identifier)
	return wrote(c, fiber.StatusCreated, res.Position, fiber.Map{"api": a})
}

// ListAPIs serves GET /api/v1/apis.
func (h *Handlers) ListAPIs(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"apis": h.Catalog.APIs(t.Slug)})
}

// GetSettings serves GET /api/v1/settings.
func (h *Handlers) GetSettings(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "catalog"); err != nil {
		return err
	}
	env, _ := h.Catalog.Environment(t.Slug)
	return c.JSON(fiber.Map{"environment": t.Slug, "issuer": t.Issuer, "settings": env.Settings,
		"signing_alg": environment.SigningAlgOf(env.SigningAlg)})
}

// UpdateSettings serves PATCH /api/v1/settings: the fields given change, the others stay.
func (h *Handlers) UpdateSettings(c *fiber.Ctx, t tenants.Tenant) error {
	var patch environment.SettingsPatch
	if err := decode(c, &patch); err != nil {
		return err
	}
	res, err := h.App.ChangeSettings(c.UserContext(), app.ChangeSettings{Environment: t.Slug, Patch: patch}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "catalog", res.Position); err != nil {
		return err
	}
	env, _ := h.Catalog.Environment(t.Slug)
	return wrote(c, fiber.StatusOK, res.Position, fiber.Map{"settings": env.Settings})
}

// ListKeys serves GET /api/v1/keys (public information only).
func (h *Handlers) ListKeys(c *fiber.Ctx, t tenants.Tenant) error {
	if err := h.minPosition(c, "keys"); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"keys": h.Keys.Keys(t.Slug)})
}

// RotateKeys serves POST /api/v1/keys/rotate.
func (h *Handlers) RotateKeys(c *fiber.Ctx, t tenants.Tenant) error {
	rot, err := h.App.RotateKeys(c.UserContext(), app.RotateKeys{Environment: t.Slug}, actor(c))
	if err != nil {
		return err
	}
	if err := h.catchUp(c, "keys", rot.Position); err != nil {
		return err
	}
	return wrote(c, fiber.StatusOK, rot.Position, fiber.Map{"keys": h.Keys.Keys(t.Slug)})
}

// Status serves GET /api/v1/status: each projection's position and its lag behind the log.
func (h *Handlers) Status(c *fiber.Ctx, t tenants.Tenant) error {
	head, err := h.Store.Head(c.UserContext())
	if err != nil {
		return err
	}
	out := []fiber.Map{}
	for _, name := range []string{"catalog", "keys", "tokens", "sessions", "mailqueue"} {
		rt, ok := h.Runtimes[name]
		if !ok {
			continue
		}
		st := rt.Status()
		out = append(out, fiber.Map{"name": st.Name, "position": st.Position, "lag": max(head-st.Position, 0),
			"ready": st.Ready, "following_nats": st.Following, "error": st.Error})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"environment": t.Slug, "head": head, "projections": out})
}

// recheckEvery is how often an open event stream checks its caller again.
const recheckEvery = 2 * time.Second

// maxFollows bounds the event streams one client keeps open on one instance.
const maxFollows = 4

// follows counts the open event streams per client.
type follows struct {
	mu   sync.Mutex
	open map[string]int
}

// take reserves a stream for clientID; nil when it has maxFollows open already.
func (f *follows) take(clientID string) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open == nil {
		f.open = map[string]int{}
	}
	if f.open[clientID] >= maxFollows {
		return nil
	}
	f.open[clientID]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.open[clientID]--; f.open[clientID] <= 0 {
			delete(f.open, clientID)
		}
	}
}

// stillAuthorized re-runs the authentication a request got: the token is active, its client
// and user stand, and it holds admin:users.
func (h *Handlers) stillAuthorized(t tenants.Tenant, token string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok, err := h.Verify(ctx, t, token)
	if err != nil {
		return false
	}
	return oauth.NewScopes(strings.Fields(tok.Scope)...).Has(oauth.ScopeAdminUsers)
}

// Events serves GET /api/v1/events?after=POSITION[&follow=true]: the environment's envelopes
// as NDJSON, for auditors and services that cannot reach NATS. With follow, the response
// stays open and streams new events (up to 10 minutes; reconnect with after=), while the
// caller stays authorized; a client keeps at most maxFollows open per instance.
func (h *Handlers) Events(c *fiber.Ctx, t tenants.Tenant) error {
	after, err := strconv.ParseInt(c.Query("after", "0"), 10, 64)
	if err != nil || after < 0 {
		return invalid("after", "must be a non-negative integer")
	}
	follow := c.QueryBool("follow")
	ctx := c.UserContext()
	who := callerOf(c)
	var release func()
	if follow {
		if release = h.follows.take(who.clientID); release == nil {
			return &apiError{status: fiber.StatusTooManyRequests, code: "rate_limited",
				msg: "too many open event streams for this client; close one first"}
		}
	}
	c.Set(fiber.HeaderContentType, "application/x-ndjson")
	c.Set(fiber.HeaderCacheControl, "no-store")
	first, err := h.Store.ReadEnvironment(ctx, t.Slug, after, 1000)
	if err != nil {
		return err
	}
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		if release != nil {
			defer release()
		}
		enc := json.NewEncoder(w)
		batch, pos, deadline := first, after, time.Now().Add(10*time.Minute)
		checked := time.Now()
		for {
			// A follow outlives no revocation: its caller is checked again every few seconds
			// (token revoked or expired, client deleted: the stream ends).
			if follow && time.Since(checked) > recheckEvery {
				if !h.stillAuthorized(t, who.token) {
					return
				}
				checked = time.Now()
			}
			for _, e := range batch {
				line := any(e)
				if h.EventSigner != nil {
					line = h.EventSigner.Envelope(e)
				}
				if enc.Encode(line) != nil {
					return
				}
				pos = e.Position
			}
			if w.Flush() != nil {
				return
			}
			if len(batch) < 1000 {
				if !follow || time.Now().After(deadline) {
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
			var err error
			if batch, err = h.Store.ReadEnvironment(ctx, t.Slug, pos, 1000); err != nil {
				return
			}
		}
	}))
	return nil
}
