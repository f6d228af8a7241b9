package dashboard

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/projections/catalog"
)

// A show-once secret (a client's new secret, a user's generated password) is shown by the
// page reached by a redirect after the POST that made it (post/redirect/get), so a reload
// never registers, rotates or resets again. The secret travels from the POST to that one GET
// in a flash cookie, one mechanism for every kind (flashKind):
//   - sealed: AES-256-GCM under a key derived from the master key (any instance opens it;
//     nobody reads or alters it in transit or in the browser's cookie store);
//   - bound: the operator, their sign-in, the environment, the kind and the subject (the
//     client, the user) are both inside and the additional authenticated data, so it opens
//     for no other operator, sign-in, environment, kind or subject;
//   - short-lived (flashTTL), HttpOnly, SameSite=Strict, with the showing page's path only;
//   - single-use: the GET clears it, and it opens only while what it shows is still current
//     (a later rotation or reset makes an old flash worthless).
//
// The secret is never in a URL, a log line or an event.

const (
	flashCookie = "paylent_dashboard_secret"
	flashTTL    = 2 * time.Minute
)

// flashKind is what a flash carries: its cookie, its purpose (bound into the sealing) and
// the page that shows it.
type flashKind struct {
	cookie, purpose string
	path            func(env, subject string) string
}

var (
	clientSecretFlash = flashKind{cookie: flashCookie, purpose: "client secret", path: secretPath}
	passwordFlash     = flashKind{cookie: "paylent_dashboard_password", purpose: "user password", path: passwordPath}
)

// secretFlash is a just-made secret on its way to the page that shows it.
type secretFlash struct {
	Operator string `json:"op"`
	Session  string `json:"sid"`
	Env      string `json:"env"`
	Kind     string `json:"k"`
	// Client is the subject: the client (a client secret) or the user (a password).
	Client  string `json:"cid"`
	Secret  string `json:"sec"`
	Rotated bool   `json:"rot,omitempty"`
	// PreviousValidUntil (Unix seconds) is when a rotated client's old secret stops working.
	PreviousValidUntil int64 `json:"prev,omitempty"`
	// Current is what the subject must still hold for the flash to open (a password's: the
	// SHA-256 of the user's stored hash after the reset).
	Current string `json:"cur,omitempty"`
	// Sessions and Grants count what a password reset ended.
	Sessions int   `json:"ses,omitempty"`
	Grants   int   `json:"gr,omitempty"`
	Expires  int64 `json:"exp"`
}

// secretPath is the page that shows a client's new secret, once.
func secretPath(env, clientID string) string {
	return "/e/" + url.PathEscape(env) + "/clients/" + url.PathEscape(clientID) + "/secret"
}

// passwordPath is the page that resets a user's password and shows a generated one, once.
func passwordPath(env, userID string) string {
	return "/e/" + url.PathEscape(env) + "/users/" + url.PathEscape(userID) + "/password"
}

// flashAAD binds a sealed flash to who may open it where.
func flashAAD(f secretFlash) []byte {
	return []byte("paylent dashboard secret flash v1\x00" + f.Operator + "\x00" + f.Session + "\x00" + f.Env + "\x00" + f.Kind +
		"\x00" + f.Client)
}

func (d *Dashboard) flashAEAD() cipher.AEAD {
	block, err := aes.NewCipher(d.key("secret flash aes-256-gcm")) // 32 bytes: AES-256
	if err != nil {
		panic(err) // a SHA-256 HMAC is always a valid AES-256 key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// setSecretFlash leaves a new client secret for the operator's next GET of its page.
func (d *Dashboard) setSecretFlash(c *fiber.Ctx, v *view, f secretFlash) error {
	return d.setFlash(c, v, clientSecretFlash, f)
}

// takeSecretFlash reads and clears the flash for cl: ok only for the operator's sign-in
// that made it, in this environment, for this client, in time, and while its secret is
// still the client's.
func (d *Dashboard) takeSecretFlash(c *fiber.Ctx, v *view, cl catalog.Client) (secretFlash, bool) {
	f, ok := d.takeFlash(c, v, clientSecretFlash, cl.ID)
	if !ok || !secret.Equal(f.Secret, cl.SecretHash) {
		return secretFlash{}, false
	}
	return f, true
}

// setFlash leaves f (its Client the subject) for the operator's next GET of kind's page.
func (d *Dashboard) setFlash(c *fiber.Ctx, v *view, kind flashKind, f secretFlash) error {
	f.Operator, f.Session, f.Env, f.Kind = v.Operator.UserID, v.Operator.SessionID, v.Env.Slug, kind.purpose
	f.Expires = d.Now().Add(flashTTL).Unix()
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	aead := d.flashAEAD()
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := aead.Seal(nonce, nonce, body, flashAAD(f))
	c.Cookie(&fiber.Cookie{Name: kind.cookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: kind.path(f.Env, f.Client),
		HTTPOnly: true, Secure: d.Scheme == "https", SameSite: fiber.CookieSameSiteStrictMode, MaxAge: int(flashTTL.Seconds())})
	return nil
}

// takeFlash reads and clears kind's flash for subject: ok only for the operator's sign-in
// that made it, in this environment, for this kind and subject, in time. The caller checks
// that what it shows is still current.
func (d *Dashboard) takeFlash(c *fiber.Ctx, v *view, kind flashKind, subject string) (secretFlash, bool) {
	raw := c.Cookies(kind.cookie)
	if raw == "" {
		return secretFlash{}, false
	}
	c.Cookie(&fiber.Cookie{Name: kind.cookie, Value: "", Path: kind.path(v.Env.Slug, subject), HTTPOnly: true, Secure: d.Scheme == "https",
		SameSite: fiber.CookieSameSiteStrictMode, MaxAge: -1, Expires: time.Unix(1, 0)})
	want := secretFlash{Operator: v.Operator.UserID, Session: v.Operator.SessionID, Env: v.Env.Slug, Kind: kind.purpose, Client: subject}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	aead := d.flashAEAD()
	if err != nil || len(sealed) < aead.NonceSize()+aead.Overhead() {
		return secretFlash{}, false
	}
	body, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], flashAAD(want))
	var f secretFlash
	if err != nil || json.Unmarshal(body, &f) != nil {
		return secretFlash{}, false
	}
	if f.Operator != want.Operator || f.Session != want.Session || f.Env != want.Env || f.Kind != want.Kind ||
		f.Client != want.Client || d.Now().Unix() >= f.Expires || f.Secret == "" {
		return secretFlash{}, false
	}
	return f, true
}
