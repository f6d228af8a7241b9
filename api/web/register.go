package web

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/registration"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/tenants"
)

// The registration API answers JSON when asked with JSON, and pages otherwise.

type registerInput struct {
	Email             string `json:"email"`
	RegistrationID    string `json:"registration_id"`
	Passcode          string `json:"passcode"`
	RegistrationToken string `json:"registration_token"`
	Name              string `json:"name"`
	Password          string `json:"password"`
	Flow              string `json:"-"`
}

// readRegister parses a JSON body or a CSRF-checked form.
func (h *Handlers) readRegister(c *fiber.Ctx) (registerInput, bool, error) {
	var in registerInput
	if strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationJSON) {
		if err := c.BodyParser(&in); err != nil {
			return in, true, domain.Invalid("body", "is not valid JSON")
		}
		return in, true, nil
	}
	if !h.checkCSRF(c) {
		return in, false, errCSRF
	}
	in = registerInput{Email: c.FormValue("email"), RegistrationID: c.FormValue("registration_id"), Passcode: c.FormValue("passcode"),
		RegistrationToken: c.FormValue("registration_token"), Name: c.FormValue("name"), Password: c.FormValue("password"), Flow: c.FormValue("flow")}
	return in, false, nil
}

var errCSRF = errors.New("csrf")

// RegisterForm serves GET /register.
func (h *Handlers) RegisterForm(c *fiber.Ctx, t tenants.Tenant) error {
	if !t.Settings.RegistrationEnabled {
		return errorPage(c, t, fiber.StatusForbidden, "Registration is closed", "New accounts cannot be created here.")
	}
	return h.registerPage(c, t, "email", registerInput{Flow: c.Query("flow")}, "", fiber.StatusOK)
}

func (h *Handlers) registerPage(c *fiber.Ctx, t tenants.Tenant, step string, in registerInput, msg string, status int) error {
	return render(c, t, status, "register.html", page{Title: "Create account", CSRF: h.csrfToken(c), Flow: in.Flow, Step: step,
		Email: in.Email, RegistrationID: in.RegistrationID, RegistrationToken: in.RegistrationToken, Error: msg})
}

// Register serves POST /register: the answer is the same whether or not the address has an
// account (no enumeration); the mail differs.
func (h *Handlers) Register(c *fiber.Ctx, t tenants.Tenant) error {
	in, asJSON, err := h.readRegister(c)
	if err == nil {
		in.RegistrationID, err = h.App.StartRegistration(c.UserContext(), t.Slug, in.Email, browser(c))
	}
	if err != nil {
		return h.registerFail(c, t, asJSON, "email", in, err)
	}
	if asJSON {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"registration_id": in.RegistrationID,
			"message": "if the address can be used, a 6-digit code was sent to it; it works for 10 minutes"})
	}
	return h.registerPage(c, t, "verify", in, "", fiber.StatusOK)
}

// RegisterVerify serves POST /register/verify: the passcode gives a registration token.
func (h *Handlers) RegisterVerify(c *fiber.Ctx, t tenants.Tenant) error {
	in, asJSON, err := h.readRegister(c)
	var token string
	if err == nil {
		token, err = h.App.VerifyRegistration(c.UserContext(), t.Slug, in.RegistrationID, in.Passcode, browser(c))
	}
	if err != nil {
		return h.registerFail(c, t, asJSON, "verify", in, err)
	}
	if asJSON {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"registration_token": token, "expires_in": int(registration.TokenLifetime.Seconds())})
	}
	in.RegistrationToken = token
	return h.registerPage(c, t, "complete", in, "", fiber.StatusOK)
}

// RegisterComplete serves POST /register/complete: the user exists afterwards. In the
// browser they are signed in at once (their password's session) and offered a passkey, a
// step they may skip, unless the environment or the application asks for a second factor:
// then they sign in, and set up an authenticator app after their password.
func (h *Handlers) RegisterComplete(c *fiber.Ctx, t tenants.Tenant) error {
	in, asJSON, err := h.readRegister(c)
	req := app.CompleteRegistration{Environment: t.Slug, Token: in.RegistrationToken, Email: in.Email, Name: in.Name,
		Password: in.Password, Browser: browser(c)}
	flow, _ := h.open(in.Flow, t.Slug, h.Now())
	if !asJSON && !secondFactorRequired(t, &flow) {
		req.SessionTTL = t.Settings.SessionTTL()
		if old, ok := h.heldSession(c, t); ok {
			req.Previous = old.ID
		}
	}
	var reg app.Registered
	if err == nil {
		reg, err = h.App.CompleteRegistration(c.UserContext(), req)
	}
	if err != nil && reg.UserID == "" {
		return h.registerFail(c, t, asJSON, "complete", in, err)
	}
	if asJSON {
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user_id": reg.UserID, "email": reg.Email})
	}
	cl, _ := h.clientOfFlow(t, in.Flow)
	if err != nil {
		h.log.Warn("sign-up: the account exists but its session did not start", "err", err)
	}
	if reg.Session == nil { // a second factor comes first, or the session could not start
		return render(c, t, fiber.StatusOK, "login.html", page{Title: "Sign in", CSRF: h.csrfToken(c), Flow: in.Flow, ClientName: cl,
			Email: reg.Email, Notice: "Your account is ready. Sign in with your new password.", RegistrationEnabled: t.Settings.RegistrationEnabled,
			Script: true})
	}
	h.setSessionCookie(c, *reg.Session)
	var target []string
	if flow.RedirectURI != "" {
		target = append(target, flow.RedirectURI)
	}
	return render(c, t, fiber.StatusOK, "passkey_offer.html", page{Title: "Add a passkey", CSRF: h.csrfToken(c), Flow: in.Flow,
		ClientName: cl, UserEmail: reg.Email, Script: true}, target...)
}

// registerFail answers a failed step: JSON errors for the API, the form again for pages.
func (h *Handlers) registerFail(c *fiber.Ctx, t tenants.Tenant, asJSON bool, step string, in registerInput, err error) error {
	status, code, msg := fiber.StatusBadRequest, "invalid_request", "Something is wrong with the form."
	var ve *domain.ValidationError
	switch {
	case errors.Is(err, errCSRF):
		return errorPage(c, t, fiber.StatusForbidden, "Request refused", "This form was not sent from this site. Go back, reload the page and try again.")
	case errors.Is(err, secret.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, busyRetryAfter)
		status, code, msg = fiber.StatusServiceUnavailable, "temporarily_unavailable", "Too many sign-ups at once; try again in a moment."
	case errors.Is(err, registration.ErrDisabled):
		status, code, msg = fiber.StatusForbidden, "registration_disabled", "Registration is disabled in this environment."
	case errors.Is(err, registration.ErrWrongCode):
		code, msg = "invalid_passcode", "The code is wrong. Check the mail and try again."
	case errors.Is(err, registration.ErrExpired), errors.Is(err, domain.ErrNotFound):
		code, msg = "passcode_expired", "The code has expired or was tried too often. Ask for a new one."
	case errors.Is(err, registration.ErrBadToken):
		code, msg = "invalid_registration_token", "This sign-up has expired. Start again."
	case errors.Is(err, user.ErrEmailTaken):
		code, msg = "invalid_registration_token", "This sign-up can no longer be completed. Sign in instead."
	case errors.As(err, &ve):
		msg = strings.ToUpper(ve.Field[:1]) + ve.Field[1:] + " " + ve.Message + "."
	default:
		return err
	}
	if asJSON {
		return c.Status(status).JSON(fiber.Map{"error": code, "message": msg})
	}
	if status == fiber.StatusForbidden {
		return errorPage(c, t, status, "Registration is closed", msg)
	}
	if code == "passcode_expired" || code == "invalid_registration_token" {
		step = "email"
	}
	return h.registerPage(c, t, step, in, msg, status)
}

// clientOfFlow names the application of a sealed authorization request, if any.
func (h *Handlers) clientOfFlow(t tenants.Tenant, flow string) (string, bool) {
	if flow == "" {
		return "", false
	}
	r, err := h.open(flow, t.Slug, h.Now())
	if err != nil {
		return "", false
	}
	cl, ok := h.Catalog.Client(t.Slug, r.ClientID)
	return cl.Settings.Name, ok
}
