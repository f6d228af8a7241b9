package web

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// The second step of a sign-in. After the password, a user with an authenticator app (or
// any user of an environment that requires a second factor) is only half signed in: no
// session exists yet. What they proved is kept in a short-lived cookie signed with a
// master-key-derived key and bound to the browser (to its CSRF cookie), so any instance
// can continue it and no other browser can; the session starts only once the code passed.

// pendingCookie holds a half-finished sign-in.
const pendingCookie = "paylent_mfa"

// pendingLifetime bounds the time between the password and the code.
const pendingLifetime = 5 * time.Minute

// pendingSignIn is a user who passed the password and owes a second factor. Enrol: they
// have none and the environment requires one, so they set up an authenticator first.
type pendingSignIn struct {
	Env     string `json:"e"`
	UserID  string `json:"u"`
	Browser string `json:"b"`
	Enrol   bool   `json:"n,omitempty"`
	Expires int64  `json:"x"`
}

// browserBinding ties a pending sign-in to this browser's CSRF cookie (HttpOnly, random).
func (h *Handlers) browserBinding(c *fiber.Ctx) string {
	nonce := c.Cookies(csrfCookie)
	if len(nonce) != 43 {
		return ""
	}
	return h.sign("mfa-browser", nonce)
}

// setPending starts the half-signed-in state.
func (h *Handlers) setPending(c *fiber.Ctx, t tenants.Tenant, userID string, enrol bool) {
	p := pendingSignIn{Env: t.Slug, UserID: userID, Browser: h.browserBinding(c), Enrol: enrol,
		Expires: h.Now().Add(pendingLifetime).Unix()}
	b, _ := json.Marshal(p)
	body := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: pendingCookie, Value: body + "." + h.sign("mfa", body), Path: "/", HTTPOnly: true,
		Secure: h.Secure, SameSite: fiber.CookieSameSiteLaxMode, MaxAge: int(pendingLifetime / time.Second)})
}

// pending opens this browser's half-signed-in state for the environment.
func (h *Handlers) pending(c *fiber.Ctx, t tenants.Tenant) (pendingSignIn, bool) {
	body, sig, ok := strings.Cut(c.Cookies(pendingCookie), ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(h.sign("mfa", body))) {
		return pendingSignIn{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	var p pendingSignIn
	if err != nil || json.Unmarshal(b, &p) != nil || p.Env != t.Slug || h.Now().Unix() > p.Expires ||
		p.Browser == "" || p.Browser != h.browserBinding(c) {
		return pendingSignIn{}, false
	}
	return p, true
}

func (h *Handlers) clearPending(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: pendingCookie, Value: "", Path: "/", HTTPOnly: true, Secure: h.Secure,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(0, 0)})
}

// afterPassword continues a sign-in whose password was right: a second factor if the user
// has one, the authenticator's set-up if the environment requires one, else the session.
func (h *Handlers) afterPassword(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, req *authRequest, flow string, u catalog.User) error {
	factors, err := h.App.Factors(c.UserContext(), t.Slug, u.ID)
	if err != nil {
		return err
	}
	switch {
	case factors.Active:
		h.setPending(c, t, u.ID, false)
		return h.codePage(c, t, cl, req, flow, "", fiber.StatusOK)
	case secondFactorRequired(t, req) && hasPasskey(factors):
		// The person's strong way in is their passkey: the password alone does not get to
		// set up an authenticator app in front of it (whoever knows it could).
		var target []string
		if req != nil {
			target = append(target, req.RedirectURI)
		}
		return h.loginPage(c, t, cl.Settings.Name, flow, u.Email, errUsePasskey, fiber.StatusUnauthorized, target...)
	case secondFactorRequired(t, req):
		h.setPending(c, t, u.ID, true)
		return h.enrolPage(c, t, u, enrolAtLogin, flow, "", fiber.StatusOK)
	}
	return h.signedIn(c, t, cl, req, u, nil)
}

// errUsePasskey answers the password of a user who has a passkey and no authenticator app
// when a second factor is required.
const errUsePasskey = "This sign-in needs more than a password. Use \"Sign in with a passkey\"."

// hasPasskey: the user has a passkey.
func hasPasskey(f app.Factors) bool {
	for _, x := range f.List {
		if x.Kind == factor.KindPasskey {
			return true
		}
	}
	return false
}

// signedIn starts the session (with how the person proved themselves) and goes on: to the
// application's flow, or to the signed-in page.
func (h *Handlers) signedIn(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, req *authRequest, u catalog.User, amr []string) error {
	sess, err := h.startSession(c, t, u, amr)
	if err != nil {
		return err
	}
	h.clearPending(c)
	if req == nil {
		return render(c, t, fiber.StatusOK, "signedin.html", page{Title: "Signed in", UserEmail: u.Email})
	}
	return h.proceed(c, t, cl, *req, &sess)
}

// codePage asks for the second factor.
func (h *Handlers) codePage(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, req *authRequest, flow, msg string, status int) error {
	var target []string
	if req != nil {
		target = append(target, req.RedirectURI)
	}
	return render(c, t, status, "code.html", page{Title: "Two-step verification", CSRF: h.csrfToken(c), Flow: flow,
		ClientName: cl.Settings.Name, Error: msg}, target...)
}

// openFlow opens the form's sealed authorization request, if any, and its client; false
// when one was sent that is expired, forged or of a client no longer registered.
func (h *Handlers) openFlow(c *fiber.Ctx, t tenants.Tenant) (*authRequest, catalog.Client, string, bool) {
	flow := c.FormValue("flow")
	if flow == "" {
		return nil, catalog.Client{}, "", true
	}
	r, err := h.open(flow, t.Slug, h.Now())
	if err != nil {
		return nil, catalog.Client{}, "", false
	}
	cl, _ := h.Catalog.Client(t.Slug, r.ClientID)
	return &r, cl, flow, cl.ID != ""
}

// errFlowExpired answers a form whose authorization request cannot be continued.
func errFlowExpired(c *fiber.Ctx, t tenants.Tenant) error {
	return errorPage(c, t, fiber.StatusBadRequest, "Sign-in expired", "Go back to the application and start again.")
}

// errPendingExpired answers a code step without a half-signed-in state of this browser.
func errPendingExpired(c *fiber.Ctx, t tenants.Tenant) error {
	return errorPage(c, t, fiber.StatusUnauthorized, "Sign-in expired", "Sign in again with your email and password.")
}

// LoginCode serves POST /login/code: the second factor of a half-finished sign-in.
func (h *Handlers) LoginCode(c *fiber.Ctx, t tenants.Tenant) error {
	if !h.checkCSRF(c) {
		return refusedForm(c, t)
	}
	p, ok := h.pending(c, t)
	if !ok || p.Enrol {
		return errPendingExpired(c, t)
	}
	req, cl, flow, ok := h.openFlow(c, t)
	if !ok {
		return errFlowExpired(c, t)
	}
	u, ok := h.App.User(c.UserContext(), t.Slug, p.UserID)
	if !ok || u.Disabled {
		return errPendingExpired(c, t)
	}
	method, err := h.App.VerifySecondFactor(c.UserContext(), app.SecondFactorCheck{Environment: t.Slug, UserID: u.ID,
		Code: c.FormValue("code"), Browser: browser(c)})
	if msg, status := codeError(err); msg != "" {
		return h.codePage(c, t, cl, req, flow, msg, status)
	} else if err != nil {
		return err
	}
	h.log.Info("second factor passed", "method", method)
	return h.signedIn(c, t, cl, req, u, []string{session.AMRPassword, session.AMROTP})
}

// codeError is what a failed code shows, and its status ("" for an error that is not the
// person's: it is answered as a server error).
func codeError(err error) (string, int) {
	switch {
	case err == nil:
		return "", 0
	case errors.Is(err, app.ErrCodeReplayed):
		return "This code was already used. Wait for the next one in your app.", fiber.StatusUnauthorized
	case errors.Is(err, app.ErrCodeWrong):
		return "That code is not right. Check the time on your phone and try again.", fiber.StatusUnauthorized
	case errors.Is(err, factor.ErrLocked):
		return "Too many wrong codes. Wait a few minutes before trying again.", fiber.StatusTooManyRequests
	case errors.Is(err, factor.ErrNoFactor):
		return "The authenticator app was removed or replaced. Start again.", fiber.StatusConflict
	}
	return "", 0
}

func refusedForm(c *fiber.Ctx, t tenants.Tenant) error {
	return errorPage(c, t, fiber.StatusForbidden, "Request refused", "This form was not sent from this site. Go back, reload the page and try again.")
}
