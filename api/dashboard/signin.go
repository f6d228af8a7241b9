package dashboard

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/internal/secret"
)

// Login serves GET /login: an authorization request (code + PKCE S256, state, nonce) to
// the operators' environment. The request's secrets travel in a short-lived signed cookie.
func (d *Dashboard) Login(c *fiber.Ctx) error {
	if _, ok := d.Catalog.Environment(domain.OperatorsEnvironment); !ok {
		return d.message(c, fiber.StatusServiceUnavailable, "Dashboard not set up",
			"No operator exists yet. Create one with: paylent operators create --account ACCOUNT --email EMAIL")
	}
	st := loginState{State: secret.Token(), Nonce: secret.Token(), Verifier: secret.Token(),
		Return: safeReturn(c.Query("return")), Expires: d.Now().Add(10 * time.Minute).Unix()}
	d.setCookie(c, loginCookie, d.seal("login", st), 10*time.Minute)
	sum := sha256.Sum256([]byte(st.Verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {RedirectURI(d.Directory, d.Scheme)},
		"scope": {"openid profile email"}, "state": {st.State}, "nonce": {st.Nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	return c.Redirect(d.issuer()+"/oauth/authorize?"+q.Encode(), fiber.StatusSeeOther)
}

// safeReturn keeps only a local dashboard path as the place to go after signing in: "/" or
// a path under /e/, printable ASCII without backslashes, no scheme or host however a browser
// might read it (tabs and newlines are dropped by browsers and would split headers here).
func safeReturn(p string) string {
	if !isLocalPath(p, "/e/") {
		return "/"
	}
	return p
}

// isLocalPath reports whether p is a plain same-origin path under prefix.
func isLocalPath(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) || strings.HasPrefix(p, "//") || strings.Contains(p, "..") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] > 0x7e || p[i] == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(u.Path, prefix)
}

// Callback serves GET /callback: checks state, redeems the code at the token endpoint,
// validates the ID token, and signs the operator in.
func (d *Dashboard) Callback(c *fiber.Ctx) error {
	var st loginState
	ok := d.open("login", c.Cookies(loginCookie), &st)
	d.clearCookie(c, loginCookie)
	switch {
	case !ok || c.Query("state") != st.State:
		return d.message(c, fiber.StatusBadRequest, "Sign-in expired", "This sign-in did not start here or took too long. Sign in again.")
	case c.Query("error") != "":
		return d.message(c, fiber.StatusForbidden, "Sign-in refused", "The sign-in ended with: "+c.Query("error")+". Sign in again.")
	case c.Query("code") == "":
		return d.message(c, fiber.StatusBadRequest, "Sign-in failed", "The answer carried no authorization code.")
	}
	idToken, err := d.redeem(c, c.Query("code"), st.Verifier)
	if err != nil {
		d.Logger.Warn("dashboard sign-in failed", "err", err)
		return d.message(c, fiber.StatusBadGateway, "Sign-in failed", "The operators' environment did not complete the sign-in. Sign in again.")
	}
	op, err := d.verifyIDToken(idToken, st.Nonce)
	if err != nil {
		d.Logger.Warn("dashboard ID token refused", "err", err)
		return d.message(c, fiber.StatusBadGateway, "Sign-in failed", "The ID token did not verify. Sign in again.")
	}
	d.setCookie(c, sessionCookie, d.seal("session", op), sessionTTL)
	if head, err := d.Store.Head(c.UserContext()); err == nil {
		d.waitFor(c.UserContext(), head) //nolint:errcheck // best effort: the session check waits too
	}
	return c.Redirect(st.Return, fiber.StatusSeeOther)
}

// redeem exchanges the code at the operators' token endpoint (client_secret_basic).
func (d *Dashboard) redeem(c *fiber.Ctx, code, verifier string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {RedirectURI(d.Directory, d.Scheme)},
		"code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(c.UserContext(), http.MethodPost, d.issuer()+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(ClientID), url.QueryEscape(ClientSecret(d.MasterKey)))
	resp, err := d.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var tok struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", fmt.Errorf("token endpoint answered %d with no JSON", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || tok.IDToken == "" {
		return "", fmt.Errorf("token endpoint answered %d %s", resp.StatusCode, tok.Error)
	}
	return tok.IDToken, nil
}

// verifyIDToken checks the ID token's signature against the operators' environment's keys,
// its issuer, audience, expiry and nonce (OpenID Connect Core §3.1.3.7).
func (d *Dashboard) verifyIDToken(raw, nonce string) (operator, error) {
	now := d.Now()
	tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(d.Keys.VerificationKeys(domain.OperatorsEnvironment, now)),
		jwt.WithIssuer(d.issuer()), jwt.WithAudience(ClientID), jwt.WithClock(jwt.ClockFunc(d.Now)),
		jwt.WithAcceptableSkew(30*time.Second), jwt.WithValidate(true))
	if err != nil {
		return operator{}, err
	}
	claims := tok.PrivateClaims()
	str := func(k string) string { s, _ := claims[k].(string); return s }
	if str("nonce") != nonce {
		return operator{}, errors.New("nonce mismatch")
	}
	if str("sid") == "" {
		return operator{}, errors.New("no sid claim")
	}
	return operator{UserID: tok.Subject(), Email: str("email"), Name: str("name"), SessionID: str("sid"), IDToken: raw,
		Expires: now.Add(sessionTTL).Unix()}, nil
}

// Logout serves POST /logout: forgets the dashboard sign-in, then ends the operator's
// session in the operators' environment (RP-initiated logout with id_token_hint).
func (d *Dashboard) Logout(c *fiber.Ctx) error {
	op, _ := d.current(c)
	if !d.checkCSRF(c, op) {
		return d.message(c, fiber.StatusForbidden, "Request refused", "This form expired or did not come from the dashboard. Go back, reload and try again.")
	}
	d.clearCookie(c, sessionCookie)
	q := url.Values{"client_id": {ClientID}, "post_logout_redirect_uri": {SignedOutURI(d.Directory, d.Scheme)}}
	if op.IDToken != "" {
		q.Set("id_token_hint", op.IDToken)
	}
	return c.Redirect(d.issuer()+"/oauth/logout?"+q.Encode(), fiber.StatusSeeOther)
}

// SignedOut serves GET /signed-out.
func (d *Dashboard) SignedOut(c *fiber.Ctx) error {
	d.clearCookie(c, sessionCookie)
	return d.render(c, fiber.StatusOK, "signin.html", &view{Title: "Signed out", Message: "You are signed out."})
}
