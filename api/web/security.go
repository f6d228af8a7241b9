package web

import (
	"errors"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/factor"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// The authenticator app's pages: set up (QR code and manual key), confirm with a first
// code, the recovery codes shown once, and removal. A signed-in person reaches them at
// /account/security; a person whose environment requires a second factor goes through the
// set-up right after their password (/login/enrol), before any session exists.

// mfaView is what the second-factor pages show.
type mfaView struct {
	Action   string
	FactorID string
	Key      string
	QR       template.URL
	Codes    []string
	Continue bool
	Factors  []app.Factor
	Active   bool
}

type enrolMode int

const (
	enrolAtLogin enrolMode = iota
	enrolSignedIn
)

// enrolPage shows the user's pending authenticator (making one if there is none).
func (h *Handlers) enrolPage(c *fiber.Ctx, t tenants.Tenant, u catalog.User, mode enrolMode, flow, msg string, status int) error {
	req := app.EnrolTOTP{Environment: t.Slug, UserID: u.ID, Issuer: t.Settings.DisplayName, Account: u.Email, Browser: browser(c),
		MultiFactor: mode == enrolSignedIn && h.multiFactorSession(c, t)}
	e, ok, err := h.App.PendingTOTP(c.UserContext(), req)
	if err == nil && !ok {
		e, err = h.App.EnrolTOTP(c.UserContext(), req)
	}
	if err != nil {
		return err
	}
	action := "/account/totp/confirm"
	if mode == enrolAtLogin {
		action = "/login/enrol"
	}
	return render(c, t, status, "totp.html", page{Title: "Set up an authenticator app", CSRF: h.csrfToken(c), Flow: flow,
		Error: msg, UserEmail: u.Email,
		MFA: &mfaView{Action: action, FactorID: e.FactorID, Key: groups(e.Key), QR: template.URL(e.QR)}}) //nolint:gosec // our own PNG
}

// groups writes a manual key in groups of four, as authenticator apps show them.
func groups(key string) string {
	var b strings.Builder
	for i, r := range key {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LoginEnrol serves POST /login/enrol: the first code of the authenticator a person sets
// up before their first session in an environment that requires a second factor.
func (h *Handlers) LoginEnrol(c *fiber.Ctx, t tenants.Tenant) error {
	if !h.checkCSRF(c) {
		return refusedForm(c, t)
	}
	p, ok := h.pending(c, t)
	if !ok || !p.Enrol {
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
	codes, err := h.App.ConfirmTOTP(c.UserContext(), app.ConfirmTOTP{Environment: t.Slug, UserID: u.ID,
		FactorID: c.FormValue("factor_id"), Code: c.FormValue("code"), Browser: browser(c)})
	if msg, status := codeError(err); msg != "" {
		return h.enrolPage(c, t, u, enrolAtLogin, flow, msg, status)
	} else if err != nil {
		return err
	}
	if _, err := h.startSession(c, t, u, []string{session.AMRPassword, session.AMROTP}); err != nil {
		return err
	}
	h.clearPending(c)
	var target []string
	if req != nil {
		target = append(target, req.RedirectURI)
	}
	return h.recoveryCodesPage(c, t, cl, flow, codes, target...)
}

// recoveryCodesPage shows the recovery codes, once (the answer is not cached).
func (h *Handlers) recoveryCodesPage(c *fiber.Ctx, t tenants.Tenant, cl catalog.Client, flow string, codes []string, target ...string) error {
	return render(c, t, fiber.StatusOK, "recovery_codes.html", page{Title: "Your recovery codes", CSRF: h.csrfToken(c), Flow: flow,
		ClientName: cl.Settings.Name, MFA: &mfaView{Codes: codes, Continue: flow != ""}}, target...)
}

// LoginContinue serves POST /login/continue: back to the application after the recovery
// codes. The session counts as this sign-in's (prompt=login, max_age) only if it started
// after the authorization request was sealed into the form.
func (h *Handlers) LoginContinue(c *fiber.Ctx, t tenants.Tenant) error {
	if !h.checkCSRF(c) {
		return refusedForm(c, t)
	}
	req, cl, _, ok := h.openFlow(c, t)
	if !ok || req == nil {
		return errFlowExpired(c, t)
	}
	sess, ok := h.currentSession(c, t)
	if !ok {
		return h.proceed(c, t, cl, *req, nil)
	}
	if sealed := time.Unix(req.Expires, 0).Add(-flowLifetime); !sess.AuthTime.Before(sealed) {
		return h.proceed(c, t, cl, *req, &sess)
	}
	return h.proceed(c, t, cl, *req, nil)
}

// Security serves GET /account/security: the signed-in person's second factors.
func (h *Handlers) Security(c *fiber.Ctx, t tenants.Tenant) error {
	sess, ok := h.currentSession(c, t)
	if !ok {
		return render(c, t, fiber.StatusUnauthorized, "login.html", page{Title: "Sign in", CSRF: h.csrfToken(c),
			Notice: "Sign in to manage how you sign in.", RegistrationEnabled: t.Settings.RegistrationEnabled, Script: true})
	}
	return h.securityPage(c, t, sess.UserID, "", "", fiber.StatusOK)
}

func (h *Handlers) securityPage(c *fiber.Ctx, t tenants.Tenant, userID, notice, msg string, status int) error {
	u, _ := h.App.User(c.UserContext(), t.Slug, userID)
	f, err := h.App.Factors(c.UserContext(), t.Slug, userID)
	if err != nil {
		return err
	}
	return render(c, t, status, "security.html", page{Title: "Sign-in security", CSRF: h.csrfToken(c), UserEmail: u.Email,
		Notice: notice, Error: msg, MFA: &mfaView{Factors: f.List, Active: f.Active}, Script: true})
}

// signedInUser is the person of the browser's session, for the security forms.
func (h *Handlers) signedInUser(c *fiber.Ctx, t tenants.Tenant) (catalog.User, bool) {
	if !h.checkCSRF(c) {
		return catalog.User{}, false
	}
	sess, ok := h.currentSession(c, t)
	if !ok {
		return catalog.User{}, false
	}
	return h.App.User(c.UserContext(), t.Slug, sess.UserID)
}

// multiFactorSession: the browser's session proved a second factor or a passkey (acr mfa),
// as changing the factors of a user who has one requires (factor.ErrStepUp).
func (h *Handlers) multiFactorSession(c *fiber.Ctx, t tenants.Tenant) bool {
	sess, ok := h.currentSession(c, t)
	return ok && sess.ACR == session.ACRMultiFactor
}

// errStepUp is what a password-only session sees when it tries to change the factors of a
// user who has a second factor or a passkey.
const errStepUp = "To change how you sign in, sign out and sign in again with your authenticator app or a passkey."

func errSignedOut(c *fiber.Ctx, t tenants.Tenant) error {
	return errorPage(c, t, fiber.StatusUnauthorized, "Signed out", "Sign in again, then go back to the security page.")
}

// EnrolTOTP serves POST /account/totp: set up an authenticator app.
func (h *Handlers) EnrolTOTP(c *fiber.Ctx, t tenants.Tenant) error {
	u, ok := h.signedInUser(c, t)
	if !ok {
		return errSignedOut(c, t)
	}
	f, err := h.App.Factors(c.UserContext(), t.Slug, u.ID)
	if err != nil {
		return err
	}
	if f.Active {
		return h.securityPage(c, t, u.ID, "", "An authenticator app is already set up; remove it first.", fiber.StatusConflict)
	}
	err = h.enrolPage(c, t, u, enrolSignedIn, "", "", fiber.StatusOK)
	if errors.Is(err, factor.ErrStepUp) {
		return h.securityPage(c, t, u.ID, "", errStepUp, fiber.StatusForbidden)
	}
	return err
}

// ConfirmTOTP serves POST /account/totp/confirm: the first code, then the recovery codes.
func (h *Handlers) ConfirmTOTP(c *fiber.Ctx, t tenants.Tenant) error {
	u, ok := h.signedInUser(c, t)
	if !ok {
		return errSignedOut(c, t)
	}
	codes, err := h.App.ConfirmTOTP(c.UserContext(), app.ConfirmTOTP{Environment: t.Slug, UserID: u.ID,
		FactorID: c.FormValue("factor_id"), Code: c.FormValue("code"), Browser: browser(c), MultiFactor: h.multiFactorSession(c, t)})
	if errors.Is(err, factor.ErrStepUp) {
		return h.securityPage(c, t, u.ID, "", errStepUp, fiber.StatusForbidden)
	}
	if msg, status := codeError(err); msg != "" {
		return h.enrolPage(c, t, u, enrolSignedIn, "", msg, status)
	} else if err != nil {
		return err
	}
	return h.recoveryCodesPage(c, t, catalog.Client{}, "", codes)
}

// RemoveTOTP serves POST /account/totp/remove: with a current code (or a recovery code),
// so that a borrowed session cannot take the second factor away.
func (h *Handlers) RemoveTOTP(c *fiber.Ctx, t tenants.Tenant) error {
	u, ok := h.signedInUser(c, t)
	if !ok {
		return errSignedOut(c, t)
	}
	_, err := h.App.VerifySecondFactor(c.UserContext(), app.SecondFactorCheck{Environment: t.Slug, UserID: u.ID,
		Code: c.FormValue("code"), Browser: browser(c)})
	if msg, status := codeError(err); msg != "" {
		return h.securityPage(c, t, u.ID, "", msg, status)
	} else if err != nil {
		return err
	}
	_, err = h.App.RemoveFactor(c.UserContext(), app.RemoveFactor{Environment: t.Slug, UserID: u.ID,
		FactorID: c.FormValue("factor_id"), MultiFactor: true}, actor(c, u.ID)) // the code just passed
	if errors.Is(err, domain.ErrNotFound) {
		return h.securityPage(c, t, u.ID, "", "There is no such authenticator app.", fiber.StatusNotFound)
	} else if err != nil {
		return err
	}
	return h.securityPage(c, t, u.ID, "The authenticator app was removed.", "", fiber.StatusOK)
}
