package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	sessionCookie = "paylent_dashboard"
	loginCookie   = "paylent_dashboard_login"
	// sessionTTL bounds a dashboard sign-in; the operator's session in the operators'
	// environment is checked on every request as well.
	sessionTTL = 12 * time.Hour
)

// operator is who is signed in: the payload of the signed session cookie.
type operator struct {
	UserID    string `json:"sub"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	SessionID string `json:"sid"`
	IDToken   string `json:"idt"`
	Expires   int64  `json:"exp"`
}

// loginState carries an authorization request from /login to /callback.
type loginState struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Return   string `json:"return"`
	Expires  int64  `json:"exp"`
}

// seal signs v as base64url(JSON).base64url(HMAC): tamper-evident, readable by every
// instance, stored nowhere. Cookies hold no secret but the ID token of the holder.
func (d *Dashboard) seal(purpose string, v any) string {
	b, _ := json.Marshal(v)
	body := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, d.key("cookie "+purpose))
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// open verifies and decodes a sealed value; expired values are refused.
func (d *Dashboard) open(purpose, raw string, v interface{ expiry() int64 }) bool {
	body, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return false
	}
	m := hmac.New(sha256.New, d.key("cookie "+purpose))
	m.Write([]byte(body))
	want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(b, v) != nil {
		return false
	}
	return d.Now().Unix() < v.expiry()
}

func (o *operator) expiry() int64   { return o.Expires }
func (s *loginState) expiry() int64 { return s.Expires }

func (d *Dashboard) setCookie(c *fiber.Ctx, name, value string, maxAge time.Duration) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, Secure: d.Scheme == "https",
		SameSite: fiber.CookieSameSiteLaxMode, MaxAge: int(maxAge.Seconds())})
}

func (d *Dashboard) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/", HTTPOnly: true, Secure: d.Scheme == "https",
		SameSite: fiber.CookieSameSiteLaxMode, MaxAge: -1, Expires: time.Unix(1, 0)})
}
