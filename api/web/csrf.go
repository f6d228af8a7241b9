package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/internal/secret"
)

// csrfCookie holds a random value; a form's token is an HMAC of it. A cross-site page can
// neither read the cookie nor compute the token, and the check needs no server-side state,
// so it works across instances. (fiber's csrf middleware keeps tokens in a per-process
// store, which several instances behind a load balancer would not share.) POSTs must also
// come from our own origin.
const csrfCookie = "paylent_csrf"

// csrfToken returns the form token for this browser, setting its cookie when needed.
func (h *Handlers) csrfToken(c *fiber.Ctx) string {
	nonce := c.Cookies(csrfCookie)
	if len(nonce) != 43 {
		nonce = secret.Token()
		c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: nonce, Path: "/", HTTPOnly: true, Secure: h.Secure, SameSite: fiber.CookieSameSiteLaxMode})
	}
	return h.csrfFor(nonce)
}

func (h *Handlers) csrfFor(nonce string) string {
	m := hmac.New(sha256.New, h.key("csrf"))
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF verifies a POST: same origin (Sec-Fetch-Site when the browser sends it, else
// Origin, else Referer; our pages' referrer policy is same-origin so browsers send them),
// and a form token matching the cookie.
func (h *Handlers) checkCSRF(c *fiber.Ctx) bool { return h.checkCSRFToken(c, c.FormValue("_csrf")) }

// checkCSRFToken is checkCSRF with the token given (JSON requests send it in a header).
func (h *Handlers) checkCSRFToken(c *fiber.Ctx, given string) bool {
	self := h.Scheme + "://" + strings.ToLower(string(c.Request().Host()))
	switch o := c.Get(fiber.HeaderOrigin); {
	case c.Get("Sec-Fetch-Site") != "" && c.Get("Sec-Fetch-Site") != "same-origin":
		return false
	case o != "":
		if !strings.EqualFold(o, self) {
			return false
		}
	default:
		ref := c.Get(fiber.HeaderReferer)
		if ref == "" || !strings.HasPrefix(strings.ToLower(ref), self+"/") {
			return false
		}
	}
	nonce := c.Cookies(csrfCookie)
	if len(nonce) != 43 || given == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(given), []byte(h.csrfFor(nonce))) == 1
}
