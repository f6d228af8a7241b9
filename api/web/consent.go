package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/tenants"
)

// consentPage shows the application's name and each requested scope's description.
func (h *Handlers) consentPage(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, req authRequest, sess sessions.Session) error {
	var scopes []scopeView
	for _, name := range strings.Fields(req.Scope) {
		s, _ := h.Catalog.Scope(t.Slug, name)
		scopes = append(scopes, scopeView{Name: name, Description: s.Description})
	}
	u, _ := h.Catalog.User(t.Slug, sess.UserID)
	return render(c, t, fiber.StatusOK, "consent.html", page{Title: "Allow access", CSRF: h.csrfToken(c), Flow: h.seal(req, h.Now()),
		ClientName: cl.Settings.Name, UserEmail: u.Email, Scopes: scopes}, req.RedirectURI)
}

// Consent serves POST /consent: approve (remembered, then a code) or deny (access_denied).
func (h *Handlers) Consent(c *fiber.Ctx, t tenants.Tenant) error {
	if !h.checkCSRF(c) {
		return errorPage(c, t, fiber.StatusForbidden, "Request refused", "This form was not sent from this site. Go back, reload the page and try again.")
	}
	req, err := h.open(c.FormValue("flow"), t.Slug, h.Now())
	if err != nil {
		return errorPage(c, t, fiber.StatusBadRequest, "Request expired", "Go back to the application and start again.")
	}
	sess, ok := h.currentSession(c, t)
	if !ok {
		return errorPage(c, t, fiber.StatusUnauthorized, "Signed out", "Your session ended. Go back to the application and start again.")
	}
	if secondFactorRequired(t, &req) && sess.ACR != session.ACRMultiFactor {
		// The form was shown to a multi-factor sign-in, maybe another one: this session
		// proved the password alone.
		cl, _ := h.Catalog.Client(t.Slug, req.ClientID)
		return h.proceed(c, t, cl, req, nil)
	}
	if c.FormValue("decision") != "approve" {
		return h.redirectError(c, t, req, oauth.ErrAccessDenied.WithDescription("the user denied the request"))
	}
	scopes := oauth.NewScopes(strings.Fields(req.Scope)...)
	if err := h.App.GrantConsent(c.UserContext(), app.GrantConsent{Environment: t.Slug, UserID: sess.UserID, ClientID: req.ClientID,
		Scopes: scopes, Browser: browser(c)}); err != nil {
		return h.redirectError(c, t, req, oauth.ErrTemporarilyUnavailable.WithCause(err))
	}
	return h.issueCode(c, t, req, sess)
}
