package mgmt

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/paylent/paylent/internal/eventsig"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/projections"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/keys"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/projections/tokens"
	"github.com/paylent/paylent/tenants"
)

// Deps wire the Management API.
type Deps struct {
	// App is the operations layer: every state change goes through it.
	App      *app.App
	Store    eventstore.Store
	Registry *domain.Registry
	Catalog  *catalog.Catalog
	Sessions *sessions.Store
	Tokens   *tokens.Store
	Keys     *keys.Keyring
	// Runtimes are the instance's projections, by name (read-your-writes, status).
	Runtimes map[string]*projections.Runtime
	// Verify checks a bearer token (oauth.Handlers.VerifyAccessToken).
	Verify func(ctx context.Context, t tenants.Tenant, value string) (tokens.Token, error)
	// EventSigner signs each event GET /events prints (the relay's key), so a downstream
	// service can verify it as it verifies NATS messages; nil prints none.
	EventSigner *eventsig.Signer
	Now         func() time.Time
	Logger      *slog.Logger
}

// Handlers serve the Management API.
type Handlers struct {
	Deps
	log     *slog.Logger
	follows follows
}

// New returns the handlers.
func New(d Deps) *Handlers {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handlers{Deps: d, log: d.Logger}
}

// wrote answers a write: the position of its last event, as a header and in the body.
func wrote(c *fiber.Ctx, status int, pos int64, body fiber.Map) error {
	if body == nil {
		body = fiber.Map{}
	}
	if pos > 0 {
		c.Set("Paylent-Position", strconv.FormatInt(pos, 10))
		body["position"] = pos
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(body)
}

// catchUp waits until the named projection has applied pos: the write's own position after
// a write, or a read's min_position.
func (h *Handlers) catchUp(c *fiber.Ctx, projection string, pos int64) error {
	if pos <= 0 {
		return nil
	}
	rt, ok := h.Runtimes[projection]
	if !ok {
		return nil
	}
	if err := h.App.AfterWrite(c.UserContext(), pos, rt); err != nil {
		return &apiError{status: fiber.StatusServiceUnavailable, code: "not_caught_up",
			msg: "the read model has not reached position " + strconv.FormatInt(pos, 10) + " yet; retry"}
	}
	return nil
}

// minPosition reads a read's min_position parameter and waits for it.
func (h *Handlers) minPosition(c *fiber.Ctx, projection string) error {
	raw := c.Query("min_position")
	if raw == "" {
		return nil
	}
	pos, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || pos < 0 {
		return invalid("min_position", "must be a non-negative integer")
	}
	return h.catchUp(c, projection, pos)
}
