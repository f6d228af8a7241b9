package dashboard

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections/keys"
)

var (
	okSettingsSaved  = notice("settings-saved", "Settings saved.")
	okSettingsSame   = notice("settings-unchanged", "Nothing changed: the settings were already so.")
	okSigningRotated = notice("keys-rotated", "Signing keys rotated: the next key signs from now on, a new next key was made, "+
		"and the old key still verifies the tokens it signed.")
)

func (d *Dashboard) mountSettings(r fiber.Router) {
	r.Get("/settings", page(d.Settings))
	r.Post("/settings", page(d.SaveSettings))
	r.Post("/settings/keys/rotate", page(d.RotateSigningKeys))
}

// settingsForm is the settings form as typed (numbers stay text until they parse).
type settingsForm struct {
	DisplayName, LogoURL                                   string
	SessionLifetime, AccessTokenLifetime, RefreshLifetime  string
	TokenFormat                                            string
	RegistrationEnabled                                    bool
	TokenRequests, TokenWindow, LoginRequests, LoginWindow string
	ManagementRequests, ManagementWindow                   string
	Issuer, Discovery                                      string
	Keys                                                   []keys.KeyInfo
}

func settingsBase(v *view) string { return "/e/" + v.Env.Slug + "/settings" }

// formOf fills the form from settings.
func formOf(s environment.Settings) settingsForm {
	n := func(i int64) string { return strconv.FormatInt(i, 10) }
	r := s.RateLimits
	return settingsForm{DisplayName: s.DisplayName, LogoURL: s.LogoURL, SessionLifetime: n(s.SessionLifetime),
		AccessTokenLifetime: n(s.AccessTokenLifetime), RefreshLifetime: n(s.RefreshTokenLifetime), TokenFormat: string(s.TokenFormat),
		RegistrationEnabled: s.RegistrationEnabled,
		TokenRequests:       n(int64(r.Token.Requests)), TokenWindow: n(int64(r.Token.WindowSeconds)),
		LoginRequests: n(int64(r.Login.Requests)), LoginWindow: n(int64(r.Login.WindowSeconds)),
		ManagementRequests: n(int64(r.Management.Requests)), ManagementWindow: n(int64(r.Management.WindowSeconds))}
}

// readSettingsForm reads the posted form.
func readSettingsForm(c *fiber.Ctx) settingsForm {
	get := func(k string) string { return strings.TrimSpace(c.FormValue(k)) }
	return settingsForm{DisplayName: get("display_name"), LogoURL: get("logo_url"), SessionLifetime: get("session_lifetime"),
		AccessTokenLifetime: get("access_token_lifetime"), RefreshLifetime: get("refresh_token_lifetime"),
		TokenFormat: get("token_format"), RegistrationEnabled: c.FormValue("registration_enabled") == "on",
		TokenRequests: get("token_requests"), TokenWindow: get("token_window"), LoginRequests: get("login_requests"),
		LoginWindow: get("login_window"), ManagementRequests: get("management_requests"), ManagementWindow: get("management_window")}
}

// patch turns the form into a settings patch: every field of the form, and only those (the
// default API, which the form does not show, stays as it is). A number that does not parse
// is refused here, naming its field; the domain checks the ranges.
func (f settingsForm) patch() (environment.SettingsPatch, error) {
	var nums [9]int64
	fields := []struct{ name, val string }{
		{"session_lifetime", f.SessionLifetime}, {"access_token_lifetime", f.AccessTokenLifetime},
		{"refresh_token_lifetime", f.RefreshLifetime}, {"token_requests", f.TokenRequests}, {"token_window", f.TokenWindow},
		{"login_requests", f.LoginRequests}, {"login_window", f.LoginWindow},
		{"management_requests", f.ManagementRequests}, {"management_window", f.ManagementWindow},
	}
	for i, fl := range fields {
		n, err := strconv.ParseInt(fl.val, 10, 32)
		switch {
		case errors.Is(err, strconv.ErrRange):
			return environment.SettingsPatch{}, domain.Invalid(fl.name, "is far too large")
		case err != nil:
			return environment.SettingsPatch{}, domain.Invalid(fl.name, "must be a whole number")
		}
		nums[i] = n
	}
	tf := environment.TokenFormat(f.TokenFormat)
	limit := func(i int) environment.RateLimit {
		return environment.RateLimit{Requests: int(nums[i]), WindowSeconds: int(nums[i+1])}
	}
	rl := environment.RateLimits{Token: limit(3), Login: limit(5), Management: limit(7)}
	return environment.SettingsPatch{DisplayName: &f.DisplayName, LogoURL: &f.LogoURL, SessionLifetime: &nums[0],
		AccessTokenLifetime: &nums[1], RefreshTokenLifetime: &nums[2], TokenFormat: &tf,
		RegistrationEnabled: &f.RegistrationEnabled, RateLimits: &rl}, nil
}

// settingsPage renders the page with form f (the current settings, or what was posted).
func (d *Dashboard) settingsPage(c *fiber.Ctx, v *view, status int, f settingsForm) error {
	f.Issuer = v.Env.Issuer
	f.Discovery = v.Env.Issuer + "/.well-known/openid-configuration"
	if d.Keys != nil {
		f.Keys = d.Keys.Keys(v.Env.Slug)
	}
	v.Title, v.Section, v.Data = "Settings", "settings", f
	return d.render(c, status, "settings.html", v)
}

// Settings serves GET /e/:env/settings: the settings form, the issuer and the signing keys.
func (d *Dashboard) Settings(c *fiber.Ctx, v *view) error {
	env, ok := d.Catalog.Environment(v.Env.Slug)
	if !ok {
		return d.message(c, fiber.StatusNotFound, "No such environment", "This environment no longer exists.")
	}
	return d.settingsPage(c, v, fiber.StatusOK, formOf(env.Settings))
}

// SaveSettings serves POST /e/:env/settings: one environment.settings_changed event with the
// new settings (none when nothing changed).
func (d *Dashboard) SaveSettings(c *fiber.Ctx, v *view) error {
	f := readSettingsForm(c)
	p, err := f.patch()
	if err != nil {
		v.Error = d.problem(err)
		return d.settingsPage(c, v, fiber.StatusBadRequest, f)
	}
	res, err := d.App.ChangeSettings(c.UserContext(), app.ChangeSettings{Environment: v.Env.Slug, Patch: p}, actor(c, v))
	switch {
	case err != nil:
		v.Error = d.problem(err)
		return d.settingsPage(c, v, fiber.StatusBadRequest, f)
	case res.Position == 0:
		return done(c, settingsBase(v), okSettingsSame)
	}
	return done(c, settingsBase(v), okSettingsSaved)
}

// RotateSigningKeys serves POST /e/:env/settings/keys/rotate: the next key becomes primary,
// the old primary is retired (it still verifies what it signed), a new next key is made.
func (d *Dashboard) RotateSigningKeys(c *fiber.Ctx, v *view) error {
	_, err := d.App.RotateKeys(c.UserContext(), app.RotateKeys{Environment: v.Env.Slug}, actor(c, v))
	if err != nil {
		v.Error = d.problem(err)
		env, _ := d.Catalog.Environment(v.Env.Slug)
		return d.settingsPage(c, v, fiber.StatusBadRequest, formOf(env.Settings))
	}
	return done(c, settingsBase(v), okSigningRotated)
}

// Human says a number of seconds typed in the form the way people do ("1 hour",
// "30 days"); "" when it is not a positive number.
func (settingsForm) Human(secs string) string {
	n, err := strconv.ParseInt(secs, 10, 64)
	switch {
	case err != nil || n <= 0:
		return ""
	case n%86400 == 0:
		return plural(n/86400, "day")
	case n%3600 == 0:
		return plural(n/3600, "hour")
	case n%60 == 0:
		return plural(n/60, "minute")
	}
	return (time.Duration(n) * time.Second).String()
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
