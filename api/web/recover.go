package web

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/access"
	"github.com/paylent/paylent/domain/recovery"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/tenants"
)

// Account recovery ("Forgot password?"): the pages, and the same steps as JSON when asked
// with JSON, shaped as the registration API.

type recoverInput struct {
	Email         string `json:"email"`
	RecoveryID    string `json:"recovery_id"`
	Passcode      string `json:"passcode"`
	RecoveryToken string `json:"recovery_token"`
	Password      string `json:"password"`
	Flow          string `json:"-"`
}

// recoverSent is the one answer to a recovery request, whatever the address.
const recoverSent = "if the address has an account, a 6-digit code was sent to it; it works for 10 minutes"

// readRecover parses a JSON body or a CSRF-checked form.
func (h *Handlers) readRecover(c *fiber.Ctx) (recoverInput, bool, error) {
	var in recoverInput
	if strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationJSON) {
		if err := c.BodyParser(&in); err != nil {
			return in, true, domain.Invalid("body", "is not valid JSON")
		}
		return in, true, nil
	}
	if !h.checkCSRF(c) {
		return in, false, errCSRF
	}
	in = recoverInput{Email: c.FormValue("email"), RecoveryID: c.FormValue("recovery_id"), Passcode: c.FormValue("passcode"),
		RecoveryToken: c.FormValue("recovery_token"), Password: c.FormValue("password"), Flow: c.FormValue("flow")}
	return in, false, nil
}

// RecoverForm serves GET /recover.
func (h *Handlers) RecoverForm(c *fiber.Ctx, t tenants.Tenant) error {
	return h.recoverPage(c, t, "email", recoverInput{Flow: c.Query("flow")}, "", fiber.StatusOK)
}

func (h *Handlers) recoverPage(c *fiber.Ctx, t tenants.Tenant, step string, in recoverInput, msg string, status int) error {
	return render(c, t, status, "recover.html", page{Title: "Reset password", CSRF: h.csrfToken(c), Flow: in.Flow, Step: step,
		Email: in.Email, RecoveryID: in.RecoveryID, RecoveryToken: in.RecoveryToken, Error: msg})
}

// Recover serves POST /recover: the same answer whether or not the address has an account;
// only an account's address gets a mail.
func (h *Handlers) Recover(c *fiber.Ctx, t tenants.Tenant) error {
	in, asJSON, err := h.readRecover(c)
	if err == nil {
		in.RecoveryID, err = h.App.StartRecovery(c.UserContext(), t.Slug, in.Email, browser(c))
	}
	if err != nil {
		return h.recoverFail(c, t, asJSON, "email", in, err)
	}
	if asJSON {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"recovery_id": in.RecoveryID, "message": recoverSent})
	}
	return h.recoverPage(c, t, "verify", in, "", fiber.StatusOK)
}

// RecoverVerify serves POST /recover/verify: the code gives a recovery token.
func (h *Handlers) RecoverVerify(c *fiber.Ctx, t tenants.Tenant) error {
	in, asJSON, err := h.readRecover(c)
	var token string
	if err == nil {
		token, err = h.App.VerifyRecovery(c.UserContext(), t.Slug, in.RecoveryID, in.Passcode, browser(c))
	}
	if err != nil {
		return h.recoverFail(c, t, asJSON, "verify", in, err)
	}
	if asJSON {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"recovery_token": token, "expires_in": int(recovery.TokenLifetime.Seconds())})
	}
	in.RecoveryToken = token
	return h.recoverPage(c, t, "complete", in, "", fiber.StatusOK)
}

// RecoverComplete serves POST /recover/complete: the new password is set and the user is
// signed out everywhere (every session and refresh token revoked).
func (h *Handlers) RecoverComplete(c *fiber.Ctx, t tenants.Tenant) error {
	in, asJSON, err := h.readRecover(c)
	var rec app.Recovered
	if err == nil {
		rec, err = h.App.CompleteRecovery(c.UserContext(), app.CompleteRecovery{Environment: t.Slug, Token: in.RecoveryToken,
			Password: in.Password, Browser: browser(c)})
	}
	if err != nil && rec.Position == 0 {
		return h.recoverFail(c, t, asJSON, "complete", in, err)
	}
	if err != nil { // the password is changed; only the sweep after it failed
		h.log.Error("password changed, but the sweep after it failed", "environment", t.Slug, "err", err)
	}
	if asJSON {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"email": rec.Email, "message": "the password was changed; every session and token was revoked"})
	}
	cl, _ := h.clientOfFlow(t, in.Flow)
	return render(c, t, fiber.StatusOK, "login.html", page{Title: "Sign in", CSRF: h.csrfToken(c), Flow: in.Flow, ClientName: cl,
		Email: rec.Email, Notice: "Your password was changed and you were signed out everywhere. Sign in with your new password.",
		RegistrationEnabled: t.Settings.RegistrationEnabled})
}

// recoverFail answers a failed step: JSON errors for the API, the form again for pages.
func (h *Handlers) recoverFail(c *fiber.Ctx, t tenants.Tenant, asJSON bool, step string, in recoverInput, err error) error {
	status, code, msg := fiber.StatusBadRequest, "invalid_request", "Something is wrong with the form."
	var ve *domain.ValidationError
	switch {
	case errors.Is(err, errCSRF):
		return errorPage(c, t, fiber.StatusForbidden, "Request refused", "This form was not sent from this site. Go back, reload the page and try again.")
	case errors.Is(err, secret.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, busyRetryAfter)
		status, code, msg = fiber.StatusServiceUnavailable, "temporarily_unavailable", "Too many requests at once; try again in a moment."
	case errors.Is(err, recovery.ErrWrongCode):
		code, msg = "invalid_passcode", "The code is wrong. Check the mail and try again."
	case errors.Is(err, recovery.ErrExpired), errors.Is(err, domain.ErrNotFound) && step == "verify":
		code, msg = "passcode_expired", "The code has expired or was tried too often. Ask for a new one."
	case errors.Is(err, recovery.ErrBadToken), errors.Is(err, access.ErrUserEnded), errors.Is(err, domain.ErrNotFound):
		code, msg = "invalid_recovery_token", "This password reset has expired or can no longer be completed. Start again."
	case errors.As(err, &ve):
		msg = strings.ToUpper(ve.Field[:1]) + ve.Field[1:] + " " + ve.Message + "."
	default:
		return err
	}
	if asJSON {
		return c.Status(status).JSON(fiber.Map{"error": code, "message": msg})
	}
	if code == "passcode_expired" || code == "invalid_recovery_token" {
		step, in.RecoveryID, in.RecoveryToken = "email", "", ""
	}
	return h.recoverPage(c, t, step, in, msg, status)
}
