package web

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// Logout serves GET and POST /oauth/logout (OpenID Connect RP-Initiated Logout 1.0). With a
// valid id_token_hint (an ID token of ours, possibly expired) whose subject is the user
// signed in in this browser, the session ends at once (an older ID token of the same user,
// from before a re-authentication, still counts);
// otherwise the person confirms on a page, so that a link on another site (carrying the
// attacker's own ID token, say) cannot sign them out. post_logout_redirect_uri is followed
// only when the client registered it.
func (h *Handlers) Logout(c *fiber.Ctx, t tenants.Tenant) error {
	get := func(k string) string {
		if c.Method() == fiber.MethodPost {
			return c.FormValue(k)
		}
		return c.Query(k)
	}
	if c.Method() == fiber.MethodPost && !h.checkCSRF(c) && get("id_token_hint") == "" {
		return errorPage(c, t, fiber.StatusForbidden, "Request refused", "This form was not sent from this site.")
	}
	hint, hinted := h.hint(t, get("id_token_hint"))
	clientID := get("client_id")
	if hinted {
		if clientID != "" && clientID != hint.client {
			return errorPage(c, t, fiber.StatusBadRequest, "Invalid sign-out request", "client_id does not match the ID token.")
		}
		clientID = hint.client
	}
	target := get("post_logout_redirect_uri")
	if target != "" {
		cl, ok := h.App.Client(c.UserContext(), t.Slug, clientID)
		if !ok || !registered(cl, target) {
			return h.unregistered(c, t, "Invalid sign-out request", "The application asked to send you to an address it has not registered.",
				devDetail{Parameter: "post_logout_redirect_uri", Received: target, ClientID: clientID, Known: ok,
					Registered: cl.Settings.PostLogoutRedirectURIs})
		}
	}
	// The session the browser holds is ended even if it no longer stands (its user disabled
	// where its revocation has not arrived): signing out must not leave it to come back.
	s, signedIn := h.heldSession(c, t)
	ownHint := hinted && (!signedIn || hint.subject == s.UserID)
	confirmed := ownHint || (c.Method() == fiber.MethodPost && get("confirm") == "yes")
	if !confirmed {
		return render(c, t, fiber.StatusOK, "logout.html", page{Title: "Sign out", CSRF: h.csrfToken(c), RedirectURI: target,
			ClientID: clientID, State: get("state")}, target)
	}
	if signedIn {
		if err := h.App.SignOut(c.UserContext(), app.SessionRef{Environment: t.Slug, SessionID: s.ID}, browser(c), s.UserID); err != nil {
			return err
		}
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true, Secure: h.Secure,
		SameSite: fiber.CookieSameSiteLaxMode, MaxAge: -1})
	if target != "" {
		return h.redirect(c, target, url.Values{"state": nonEmpty(get("state"))})
	}
	return render(c, t, fiber.StatusOK, "logout.html", page{Title: "Signed out", Done: true})
}

// idHint is what a verified id_token_hint says: the client it was issued to and its subject.
type idHint struct {
	client, subject string
}

// hint verifies an id_token_hint: an ID token (not an access token, whose typ is at+jwt)
// signed by this environment, of its issuer, for one audience; expiry is not required.
func (h *Handlers) hint(t tenants.Tenant, raw string) (idHint, bool) {
	if raw == "" || len(raw) > 8192 {
		return idHint{}, false
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 || strings.EqualFold(msg.Signatures()[0].ProtectedHeaders().Type(), "at+jwt") {
		return idHint{}, false
	}
	tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(h.Keys.VerificationKeys(t.Slug, h.Now())), jwt.WithValidate(false))
	if err != nil || tok.Issuer() != t.Issuer || len(tok.Audience()) != 1 || tok.Subject() == "" {
		return idHint{}, false
	}
	return idHint{client: tok.Audience()[0], subject: tok.Subject()}, true
}

func registered(cl catalog.Client, uri string) bool {
	for _, u := range cl.Settings.PostLogoutRedirectURIs {
		if u == uri {
			return true
		}
	}
	return false
}
