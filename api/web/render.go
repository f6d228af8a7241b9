package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/tenants"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/paylent.css
var stylesheet []byte

// pages are parsed once at start.
var pages = template.Must(template.ParseFS(templateFiles, "templates/*.html"))

// envView is what every page shows of the environment.
type envView struct {
	DisplayName string
	LogoURL     string
}

// page is the data every template receives; pages add their own fields through Extra.
type page struct {
	Title               string
	Env                 envView
	CSRF                string
	Flow                string
	Error               string
	Message             string
	ClientName          string
	ClientID            string
	UserEmail           string
	Email               string
	Scopes              []scopeView
	RegistrationEnabled bool
	Done                bool
	RedirectURI         string
	State               string
	Step                string
	RegistrationID      string
	RegistrationToken   string
	RecoveryID          string
	RecoveryToken       string
	Notice              string
	// MFA is the second-factor pages' (authenticator set-up, recovery codes, security).
	MFA *mfaView
	// Script: the page loads /assets/passkey.js (and fetches from us).
	Script bool
	// Dev is the development detail of an error page (the embedded default only).
	Dev *devDetail
}

type scopeView struct{ Name, Description string }

// render writes a page with the headers every page has: no caching, no framing, and a
// Content-Security-Policy that allows only our stylesheet, the environment's logo, and form
// posts to ourselves (and to formTargets: a consent answer redirects to the client).
func render(c *fiber.Ctx, t tenants.Tenant, status int, name string, p page, formTargets ...string) error {
	p.Env = envView{DisplayName: t.Settings.DisplayName, LogoURL: t.Settings.LogoURL}
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		return err
	}
	img := "'self'"
	if t.Settings.LogoURL != "" {
		img += " " + origin(t.Settings.LogoURL)
	}
	if p.MFA != nil && p.MFA.QR != "" {
		img += " data:" // the QR code: a PNG made by the server, inline
	}
	form := "'self'"
	for _, target := range formTargets {
		if o := origin(target); o != "" {
			form += " " + o
		}
	}
	script := ""
	if p.Script {
		script = "; script-src 'self'; connect-src 'self'"
	}
	c.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src "+img+script+"; form-action "+form+
		"; frame-ancestors 'none'; base-uri 'none'")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderCacheControl, "no-store")
	// same-origin: our own form posts carry Origin (the CSRF check uses it); nothing leaks
	// to other sites.
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// origin is scheme://host of a URL ("" if it has none); custom schemes give "scheme:".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// errorPage answers with a page: for errors that must not be redirected (an unknown client,
// a redirect URI that is not registered) and for broken page requests.
func errorPage(c *fiber.Ctx, t tenants.Tenant, status int, title, message string) error {
	return render(c, t, status, "error.html", page{Title: title, Message: message})
}

// Stylesheet serves /assets/paylent.css.
func Stylesheet(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(stylesheet)
}

// TooManyAttempts answers a rate-limited page request (429; Retry-After is already set).
func TooManyAttempts(c *fiber.Ctx, t tenants.Tenant, seconds int) error {
	return errorPage(c, t, fiber.StatusTooManyRequests, "Too many attempts",
		fmt.Sprintf("Too many attempts from your network. Wait %d seconds and try again.", seconds))
}
