package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

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

// ClientID is the dashboard's client id in the operators' environment.
const ClientID = "paylent-dashboard"

// Deps wire the dashboard.
type Deps struct {
	// App is the operations layer: every state change goes through it.
	App       *app.App
	Store     eventstore.Store
	Catalog   *catalog.Catalog
	Sessions  *sessions.Store
	Tokens    *tokens.Store
	Keys      *keys.Keyring
	Directory *tenants.Directory
	// Runtimes are the instance's projections, by name: a page after a write waits until
	// they have applied it (also when the next request reaches another instance).
	Runtimes  map[string]*projections.Runtime
	MasterKey []byte
	Scheme    string
	// Transport reaches the operators' environment's token endpoint: the dashboard redeems
	// its authorization codes over HTTP, as any other client does.
	Transport http.RoundTripper
	// Outbox is the dev outbox directory ("" when mail goes over SMTP): the Mailbox page.
	Outbox string
	// RecordRoutes leaves the route that answered each request where RouteOf finds it, for
	// the main application's request metrics (set it when they are on).
	RecordRoutes bool
	Logger       *slog.Logger
	Now          func() time.Time
}

// Dashboard is the dashboard's fiber application.
type Dashboard struct {
	Deps
	app  *fiber.App
	http *http.Client
}

// New builds the dashboard.
func New(d Deps) *Dashboard {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	db := &Dashboard{Deps: d, http: &http.Client{Transport: d.Transport, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	db.app = fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: db.errorHandler})
	db.routes()
	return db
}

// Handler serves a request that arrived at the dashboard's host.
func (d *Dashboard) Handler() func(*fiber.Ctx) error {
	h := d.app.Handler()
	return func(c *fiber.Ctx) error {
		h(c.Context())
		return nil
	}
}

// routeKey is the request's user value under which the dashboard leaves the route that
// answered, for the main application's metrics (the dashboard is an application of its own).
const routeKey = "paylent.dashboard.route"

// recordRoute runs first: once the request is answered, it records the deepest route matched.
func recordRoute(c *fiber.Ctx) error {
	err := c.Next()
	c.Context().SetUserValue(routeKey, c.Route())
	return err
}

// RouteOf is the dashboard's route that answered c, nil if the dashboard did not (or does
// not record its routes).
func RouteOf(c *fiber.Ctx) *fiber.Route {
	r, _ := c.Context().UserValue(routeKey).(*fiber.Route)
	return r
}

// ClientSecret is the dashboard's client secret: derived from the master key, so every
// instance knows it and it is stored nowhere (the client registration holds its hash).
func ClientSecret(master []byte) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("paylent dashboard client secret v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// RedirectURI and SignedOutURI are the dashboard's registered URIs.
func RedirectURI(dir *tenants.Directory, scheme string) string {
	return scheme + "://" + dir.DashboardHost() + "/callback"
}

// SignedOutURI is where the operators' environment sends a signed-out operator.
func SignedOutURI(dir *tenants.Directory, scheme string) string {
	return scheme + "://" + dir.DashboardHost() + "/signed-out"
}

// key derives a purpose-bound HMAC key from the master key.
func (d *Dashboard) key(purpose string) []byte {
	m := hmac.New(sha256.New, d.MasterKey)
	m.Write([]byte("paylent dashboard " + purpose))
	return m.Sum(nil)
}

func (d *Dashboard) origin() string { return d.Scheme + "://" + d.Directory.DashboardHost() }

func (d *Dashboard) issuer() string { return d.Directory.Issuer(domain.OperatorsEnvironment) }

// waitFor waits, bounded, until every projection has applied pos: the page after a write
// shows the write.
func (d *Dashboard) waitFor(ctx context.Context, pos int64) error {
	if pos <= 0 {
		return nil
	}
	waiters := make([]app.Waiter, 0, len(d.Runtimes))
	for _, rt := range d.Runtimes {
		waiters = append(waiters, rt)
	}
	return d.App.AfterWrite(ctx, pos, waiters...)
}
