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

// The page that shows a new client secret is reached by a redirect after the POST that
// made the secret (post/redirect/get), so a reload never registers or rotates again. The
// secret travels from the POST to that one GET in a flash cookie:
//   - sealed: AES-256-GCM under a key derived from the master key (any instance opens it;
//     nobody reads or alters it in transit or in the browser's cookie store);
//   - bound: the operator, their sign-in, the environment and the client are both inside
//     and the additional authenticated data, so it opens for no other operator, sign-in,
//     environment or client;
//   - short-lived (flashTTL), HttpOnly, SameSite=Strict, with the secret page's path only;
//   - single-use: the GET clears it, and it opens only while the secret in it is still the
//     client's current one (a later rotation makes an old flash worthless).
//
// The secret is never in a URL, a log line or an event.

const (
	flashCookie = "paylent_dashboard_secret"
	flashTTL    = 2 * time.Minute
)

// secretFlash is a just-made client secret on its way to the page that shows it.
type secretFlash struct {
	Operator string `json:"op"`
	Session  string `json:"sid"`
	Env      string `json:"env"`
	Client   string `json:"cid"`
	Secret   string `json:"sec"`
	Rotated  bool   `json:"rot,omitempty"`
	// PreviousValidUntil (Unix seconds) is when a rotated client's old secret stops working.
	PreviousValidUntil int64 `json:"prev,omitempty"`
	Expires            int64 `json:"exp"`
}

// secretPath is the page that shows a client's new secret, once.
func secretPath(env, clientID string) string {
	return "/e/" + url.PathEscape(env) + "/clients/" + url.PathEscape(clientID) + "/secret"
}

// flashAAD binds a sealed flash to who may open it where.
func flashAAD(f secretFlash) []byte {
	return []byte("paylent dashboard secret flash v1\x00" + f.Operator + "\x00" + f.Session + "\x00" + f.Env + "\x00" + f.Client)
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

// setSecretFlash leaves a new secret for the operator's next GET of the client's secret page.
func (d *Dashboard) setSecretFlash(c *fiber.Ctx, v *view, f secretFlash) error {
	f.Operator, f.Session, f.Env = v.Operator.UserID, v.Operator.SessionID, v.Env.Slug
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
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: secretPath(f.Env, f.Client),
		HTTPOnly: true, Secure: d.Scheme == "https", SameSite: fiber.CookieSameSiteStrictMode, MaxAge: int(flashTTL.Seconds())})
	return nil
}

// takeSecretFlash reads and clears the flash for cl: ok only for the operator's sign-in
// that made it, in this environment, for this client, in time, and while its secret is
// still the client's.
func (d *Dashboard) takeSecretFlash(c *fiber.Ctx, v *view, cl catalog.Client) (secretFlash, bool) {
	raw := c.Cookies(flashCookie)
	path := secretPath(v.Env.Slug, cl.ID)
	if raw == "" {
		return secretFlash{}, false
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: path, HTTPOnly: true, Secure: d.Scheme == "https",
		SameSite: fiber.CookieSameSiteStrictMode, MaxAge: -1, Expires: time.Unix(1, 0)})
	want := secretFlash{Operator: v.Operator.UserID, Session: v.Operator.SessionID, Env: v.Env.Slug, Client: cl.ID}
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
	if f.Operator != want.Operator || f.Session != want.Session || f.Env != want.Env || f.Client != want.Client ||
		d.Now().Unix() >= f.Expires || f.Secret == "" || !secret.Equal(f.Secret, cl.SecretHash) {
		return secretFlash{}, false
	}
	return f, true
}
