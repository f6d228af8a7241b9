package web

import (
	"crypto/hmac"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/tenants"
)

// Passkeys: registered on the security page, used on the login page (a button, and the
// browser's autofill on the email field: conditional mediation). The browser side is
// assets/passkey.js (CSP script-src 'self': no inline script); it talks JSON to the
// endpoints below, sending the page's CSRF token in a header. A ceremony's state (its
// challenge) waits in a 5-minute cookie signed with a master-key-derived key and bound to
// the browser, as the half-signed-in state is.

//go:embed assets/passkey.js
var passkeyScript []byte

// PasskeyScript serves /assets/passkey.js.
func PasskeyScript(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(passkeyScript)
}

// ceremonyCookie holds a WebAuthn ceremony's state between begin and finish.
const ceremonyCookie = "paylent_webauthn"

// ceremonyLifetime bounds a ceremony (WebAuthn's own timeout is 5 minutes).
const ceremonyLifetime = 5 * time.Minute

// relyingParty is the environment's WebAuthn relying party: its host without the port.
func relyingParty(t tenants.Tenant) app.RelyingParty {
	u, _ := url.Parse(t.Issuer)
	return app.RelyingParty{ID: u.Hostname(), Origin: t.Issuer, Name: t.Settings.DisplayName}
}

type ceremonyState struct {
	Env     string `json:"e"`
	Purpose string `json:"p"`
	Browser string `json:"b"`
	State   []byte `json:"s"`
	Expires int64  `json:"x"`
}

func (h *Handlers) setCeremony(c *fiber.Ctx, t tenants.Tenant, purpose string, state []byte) {
	b, _ := json.Marshal(ceremonyState{Env: t.Slug, Purpose: purpose, Browser: h.browserBinding(c), State: state,
		Expires: h.Now().Add(ceremonyLifetime).Unix()})
	body := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: ceremonyCookie, Value: body + "." + h.sign("webauthn", body), Path: "/", HTTPOnly: true,
		Secure: h.Secure, SameSite: fiber.CookieSameSiteStrictMode, MaxAge: int(ceremonyLifetime / time.Second)})
}

// ceremony takes this browser's ceremony of purpose (once: the cookie is cleared).
func (h *Handlers) ceremony(c *fiber.Ctx, t tenants.Tenant, purpose string) ([]byte, bool) {
	body, sig, ok := strings.Cut(c.Cookies(ceremonyCookie), ".")
	c.Cookie(&fiber.Cookie{Name: ceremonyCookie, Value: "", Path: "/", HTTPOnly: true, Secure: h.Secure,
		SameSite: fiber.CookieSameSiteStrictMode, Expires: time.Unix(0, 0)})
	if !ok || !hmac.Equal([]byte(sig), []byte(h.sign("webauthn", body))) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	var s ceremonyState
	if err != nil || json.Unmarshal(raw, &s) != nil || s.Env != t.Slug || s.Purpose != purpose || h.Now().Unix() > s.Expires ||
		s.Browser == "" || s.Browser != h.browserBinding(c) {
		return nil, false
	}
	return s.State, true
}

// jsonCSRF checks a JSON POST from our pages: same origin, and the page's token in a header.
func (h *Handlers) jsonCSRF(c *fiber.Ctx) bool { return h.checkCSRFToken(c, c.Get("X-CSRF-Token")) }

func jsonError(c *fiber.Ctx, status int, msg string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(fiber.Map{"error": msg})
}

// PasskeyRegisterBegin serves POST /account/passkeys/begin (JSON): the creation options.
func (h *Handlers) PasskeyRegisterBegin(c *fiber.Ctx, t tenants.Tenant) error {
	sess, ok := h.currentSession(c, t)
	if !h.jsonCSRF(c) || !ok {
		return jsonError(c, fiber.StatusForbidden, "sign in again, then reload the page")
	}
	if f, err := h.App.Factors(c.UserContext(), t.Slug, sess.UserID); err != nil {
		return err
	} else if (f.Active || hasPasskey(f)) && sess.ACR != session.ACRMultiFactor {
		return jsonError(c, fiber.StatusForbidden, errStepUp)
	}
	cer, err := h.App.BeginPasskeyRegistration(c.UserContext(), t.Slug, sess.UserID, relyingParty(t))
	if errors.Is(err, domain.ErrNotFound) {
		return jsonError(c, fiber.StatusForbidden, "sign in again, then reload the page")
	} else if err != nil {
		return err
	}
	h.setCeremony(c, t, "register", cer.State)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"publicKey": cer.Options})
}

// PasskeyRegisterFinish serves POST /account/passkeys/finish (JSON {name, credential}).
func (h *Handlers) PasskeyRegisterFinish(c *fiber.Ctx, t tenants.Tenant) error {
	sess, ok := h.currentSession(c, t)
	if !h.jsonCSRF(c) || !ok {
		return jsonError(c, fiber.StatusForbidden, "sign in again, then reload the page")
	}
	state, ok := h.ceremony(c, t, "register")
	var in struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if !ok || json.Unmarshal(c.Body(), &in) != nil {
		return jsonError(c, fiber.StatusBadRequest, "the passkey could not be added; try again")
	}
	f, err := h.App.FinishPasskeyRegistration(c.UserContext(), app.FinishPasskey{Environment: t.Slug, UserID: sess.UserID,
		RP: relyingParty(t), State: state, Response: in.Credential, Name: in.Name, Browser: browser(c),
		MultiFactor: sess.ACR == session.ACRMultiFactor})
	if err != nil {
		h.log.Info("passkey registration refused", "err", err)
		return jsonError(c, fiber.StatusBadRequest, "the passkey could not be added; try again")
	}
	return c.JSON(fiber.Map{"factor_id": f.ID, "name": f.Name})
}

// PasskeySignInBegin serves POST /login/passkey/begin (JSON): the request options.
func (h *Handlers) PasskeySignInBegin(c *fiber.Ctx, t tenants.Tenant) error {
	if !h.jsonCSRF(c) {
		return jsonError(c, fiber.StatusForbidden, "reload the page and try again")
	}
	cer, err := h.App.BeginPasskeySignIn(relyingParty(t))
	if err != nil {
		return err
	}
	h.setCeremony(c, t, "signin", cer.State)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"publicKey": cer.Options})
}

// PasskeySignInFinish serves POST /login/passkey/finish (JSON {credential}): the session
// starts (amr swk or hwk, and mfa: user verification is required); the page then goes on
// with POST /login/continue, or to the security page without an application.
func (h *Handlers) PasskeySignInFinish(c *fiber.Ctx, t tenants.Tenant) error {
	if !h.jsonCSRF(c) {
		return jsonError(c, fiber.StatusForbidden, "reload the page and try again")
	}
	state, ok := h.ceremony(c, t, "signin")
	var in struct {
		Credential json.RawMessage `json:"credential"`
	}
	if !ok || json.Unmarshal(c.Body(), &in) != nil {
		return jsonError(c, fiber.StatusUnauthorized, "the passkey was not accepted; try again")
	}
	who, err := h.App.FinishPasskeySignIn(c.UserContext(), app.FinishPasskey{Environment: t.Slug, RP: relyingParty(t),
		State: state, Response: in.Credential, Browser: browser(c)})
	if err != nil {
		h.log.Info("passkey sign-in refused", "err", err)
		return jsonError(c, fiber.StatusUnauthorized, "the passkey was not accepted; try again")
	}
	if _, err := h.startSession(c, t, who.User, who.AMR); err != nil {
		return err
	}
	h.clearPending(c)
	return c.JSON(fiber.Map{"signed_in": true})
}

// RemovePasskey serves POST /account/passkeys/remove (a form): the person's own passkey.
func (h *Handlers) RemovePasskey(c *fiber.Ctx, t tenants.Tenant) error {
	u, ok := h.signedInUser(c, t)
	if !ok {
		return errSignedOut(c, t)
	}
	f, err := h.App.Factors(c.UserContext(), t.Slug, u.ID)
	if err != nil {
		return err
	}
	for _, x := range f.List {
		if x.ID == c.FormValue("factor_id") && x.Kind == "passkey" {
			_, err := h.App.RemoveFactor(c.UserContext(), app.RemoveFactor{Environment: t.Slug, UserID: u.ID, FactorID: x.ID,
				MultiFactor: h.multiFactorSession(c, t)}, actor(c, u.ID))
			if errors.Is(err, factor.ErrStepUp) {
				return h.securityPage(c, t, u.ID, "", errStepUp, fiber.StatusForbidden)
			} else if err != nil {
				return err
			}
			return h.securityPage(c, t, u.ID, "The passkey was removed.", "", fiber.StatusOK)
		}
	}
	return h.securityPage(c, t, u.ID, "", "There is no such passkey.", fiber.StatusNotFound)
}
