package web

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/projections/sessions"
	"github.com/paylent/paylent/tenants"
)

// proceed takes a valid authorization request as far as it can go: to the login page, to the
// consent page, or to the client with a code. fresh is the session just created by the login
// page (prompt=login and max_age are then satisfied).
func (h *Handlers) proceed(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, req authRequest, fresh *sessions.Session) error {
	now := h.Now()
	sess, ok := h.currentSession(c, t)
	if fresh != nil {
		sess, ok = *fresh, true
	}
	needLogin := !ok
	if ok && fresh == nil {
		// max_age on the auth_time the ID token carries (whole seconds), not the session's
		// microseconds: else a session up to a second too old for the claim is reused.
		needLogin = req.prompted("login") ||
			(req.MaxAge >= 0 && now.Sub(sess.AuthTime.Truncate(time.Second)) > time.Duration(req.MaxAge)*time.Second)
	}
	// A fresh session too: /login/continue hands over one the password alone started.
	if ok && secondFactorRequired(t, &req) && sess.ACR != session.ACRMultiFactor {
		needLogin = true
	}
	if needLogin {
		if req.prompted("none") {
			return h.redirectError(c, t, req, &oauth.Error{Code: "login_required", Description: "the user must sign in", Status: 400})
		}
		return h.loginPage(c, t, cl.Settings.Name, h.seal(req, now), req.LoginHint, "", fiber.StatusOK, req.RedirectURI)
	}
	if fresh == nil {
		h.touch(c, t, sess)
	}
	requested := oauth.NewScopes(strings.Fields(req.Scope)...)
	remembered := h.Sessions.Consent(t.Slug, sess.UserID, cl.ID)
	_, covered := requested.SubsetOf(remembered)
	if req.prompted("consent") || !cl.Settings.FirstParty && (!covered || len(remembered) == 0) {
		if req.prompted("none") {
			return h.redirectError(c, t, req, &oauth.Error{Code: "consent_required", Description: "the user must approve this application", Status: 400})
		}
		return h.consentPage(c, t, cl, req, sess)
	}
	return h.issueCode(c, t, req, sess)
}

// issueCode records a code for the session's user and sends the browser back to the client.
func (h *Handlers) issueCode(c *fiber.Ctx, t tenants.Tenant, req authRequest, sess sessions.Session) error {
	code, err := h.App.IssueCode(c.UserContext(), app.IssueCode{Environment: t.Slug, ClientID: req.ClientID,
		RedirectURI: req.RedirectURI, RedirectGiven: req.RedirectGiven, Scope: req.Scope, Nonce: req.Nonce,
		Challenge: req.Challenge, Resources: req.Resources, Session: sess, Browser: browser(c)})
	if err != nil {
		return h.redirectError(c, t, req, oauth.ErrTemporarilyUnavailable.WithCause(err))
	}
	return h.redirect(c, req.RedirectURI, url.Values{"code": {code}, "state": nonEmpty(req.State), "iss": {t.Issuer}})
}

// redirectError sends an authorization error back to the client (RFC 6749 §4.1.2.1, with
// iss from RFC 9207).
func (h *Handlers) redirectError(c *fiber.Ctx, t tenants.Tenant, req authRequest, err error) error {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		oe = oauth.ErrServerError.WithCause(err)
	}
	if oe.Unwrap() != nil {
		h.log.Warn("authorization request failed", "error", oe.Code, "cause", oe.Unwrap())
	}
	return h.redirect(c, req.RedirectURI, url.Values{"error": {oe.Code}, "error_description": {oe.Description},
		"state": nonEmpty(req.State), "iss": {t.Issuer}})
}

// redirect sends the browser to target with params added to its query (RFC 6749 §3.1.2:
// the registered URI's own query is kept).
func (h *Handlers) redirect(c *fiber.Ctx, target string, params url.Values) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	status := fiber.StatusFound
	if c.Method() == fiber.MethodPost {
		status = fiber.StatusSeeOther
	}
	return c.Redirect(u.String(), status)
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}
