package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// requestedScopes are what the app asks for. It does not ask for write:documents: the
// "Create a document" page shows what the API answers then.
var requestedScopes = []string{oidc.ScopeOpenID, scopeProfile, scopeReadDocuments}

// webClient is the "Third-Party Documents App": a confidential OAuth client with a server
// side (this) that keeps every token, and pages for the browser.
type webClient struct {
	cfg      config
	log      *slog.Logger
	http     *http.Client
	oauth    oauth2.Config
	idTokens *oidc.IDTokenVerifier
	// From Paylent's discovery document.
	endSession, revocation string
	sessions               *sessionStore
	pages                  *pages
}

// newWebClient reads Paylent's discovery document (so a wrong PAYLENT_ISSUER fails now)
// and configures the OAuth client.
func newWebClient(ctx context.Context, cfg config, hc *http.Client, log *slog.Logger) (*webClient, error) {
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, hc), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("read Paylent's discovery document at %s (is `paylent serve` running?): %w", cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
		Revocation string `json:"revocation_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	pg, err := newPages(cfg.Issuer, log)
	if err != nil {
		return nil, err
	}
	return &webClient{cfg: cfg, log: log, http: hc, pages: pg,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: endpoint,
			RedirectURL: cfg.ClientURL + "/callback", Scopes: requestedScopes},
		// Checks the ID token's signature, iss, aud (= our client id) and exp; the nonce is
		// checked in the callback.
		idTokens:   provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		endSession: meta.EndSession, revocation: meta.Revocation,
		sessions: newSessionStore(strings.HasPrefix(cfg.ClientURL, "https:"))}, nil
}

// handler routes the app's pages.
func (c *webClient) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.home)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("GET /callback", c.callback)
	mux.HandleFunc("GET /profile", c.signedIn(c.profile))
	mux.HandleFunc("GET /documents", c.signedIn(c.documents))
	mux.HandleFunc("GET /documents/new", c.signedIn(c.newDocumentForm))
	mux.HandleFunc("POST /documents/new", c.signedIn(c.createDocument))
	mux.HandleFunc("POST /logout", c.logout)
	mux.Handle("GET /static/", http.FileServerFS(staticFiles))
	return logRequests(c.log, c.guard(mux))
}

// ctx carries our HTTP client to the oauth2 package.
func (c *webClient) ctx(r *http.Request) context.Context {
	return context.WithValue(r.Context(), oauth2.HTTPClient, c.http)
}

// login starts the Authorization Code flow: a fresh state (binds the callback to this
// browser), nonce (binds the ID token to this login) and PKCE verifier (binds the code to
// this client instance), kept in a new server-side session; the browser goes to Paylent.
func (c *webClient) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	c.sessions.start(w, r, loginTimeout, func(s *session) { s.state, s.nonce, s.verifier = state, nonce, verifier })
	http.Redirect(w, r, c.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusSeeOther)
}

// callback finishes the flow: it checks state (and iss, RFC 9207), exchanges the code with
// the client secret and the PKCE verifier, verifies the ID token and its nonce, and keeps
// the tokens in a new session.
func (c *webClient) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s := c.sessions.get(r)
	if s == nil {
		c.pages.problem(w, http.StatusBadRequest, nil, "Login expired", "This sign-in was not started here, or took too long. Please log in again.")
		return
	}
	s.mu.Lock()
	state, nonce, verifier := s.state, s.nonce, s.verifier
	s.state, s.nonce, s.verifier = "", "", "" // one use
	s.mu.Unlock()
	switch {
	case state == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
		c.pages.problem(w, http.StatusBadRequest, nil, "Login refused", "The answer from Paylent does not belong to the sign-in this browser started (state mismatch). Please log in again.")
		return
	case q.Has("iss") && q.Get("iss") != c.cfg.Issuer:
		c.pages.problem(w, http.StatusBadRequest, nil, "Login refused", "The answer came from another issuer.")
		return
	case q.Get("error") == "access_denied":
		c.pages.problem(w, http.StatusForbidden, nil, "Access denied", "You did not allow the app to use your account.")
		return
	case q.Get("error") != "" || q.Get("code") == "":
		c.log.Warn("authorization failed", "error", q.Get("error"), "description", q.Get("error_description"))
		c.pages.problem(w, http.StatusBadGateway, nil, "Login failed", "Paylent answered: "+q.Get("error")+".")
		return
	}
	tok, err := c.oauth.Exchange(c.ctx(r), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		c.log.Warn("code exchange failed", "err", err)
		c.pages.problem(w, http.StatusBadGateway, nil, "Login failed", "The authorization code could not be exchanged for tokens.")
		return
	}
	raw, claims, err := c.verifyIDToken(r.Context(), tok, nonce, "")
	if err != nil {
		c.log.Warn("ID token refused", "err", err)
		c.pages.problem(w, http.StatusBadGateway, nil, "Login failed", "The ID token could not be verified.")
		return
	}
	c.sessions.start(w, r, idleTimeout, func(s *session) { s.user, s.token, s.idToken = claims, tok, raw })
	c.log.Info("signed in", "subject", claims.Subject, "scope", tok.Extra("scope"))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// verifyIDToken checks the id_token of a token response: signature, issuer, audience and
// expiry (go-oidc), the nonce of the login (after a refresh there is none, and the subject
// must be the one of the login instead), and at_hash against the access token.
func (c *webClient) verifyIDToken(ctx context.Context, tok *oauth2.Token, nonce, subject string) (string, *user, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, errors.New("no id_token in the token response")
	}
	idt, err := c.idTokens.Verify(ctx, raw)
	if err != nil {
		return "", nil, err
	}
	switch {
	case nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1:
		return "", nil, errors.New("nonce mismatch")
	case subject != "" && idt.Subject != subject:
		return "", nil, errors.New("the refreshed ID token is about another user")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return "", nil, err
		}
	}
	var claims struct{ Name, Email string }
	if err := idt.Claims(&claims); err != nil {
		return "", nil, err
	}
	return raw, &user{Subject: idt.Subject, Name: claims.Name, Email: claims.Email}, nil
}

// errSessionEnded: the refresh token no longer works (revoked, expired, reused).
var errSessionEnded = errors.New("the session at Paylent has ended")

// accessToken returns the session's access token, refreshing it first when it has expired
// (oauth2 counts a token as expired 10 s early). Paylent rotates refresh tokens on every
// use, so the answer's new refresh token replaces the old one in the session; the session's
// lock makes concurrent requests wait for one refresh instead of presenting the same
// refresh token twice, which Paylent would take for a stolen token (reuse) and end the
// grant.
func (c *webClient) accessToken(ctx context.Context, s *session) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == nil {
		return "", errSessionEnded
	}
	if s.token.Valid() {
		return s.token.AccessToken, nil
	}
	fresh, err := c.oauth.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, c.http), s.token).Token()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		s.token = nil
		return "", errSessionEnded
	}
	if err != nil {
		return "", fmt.Errorf("refresh the access token: %w", err)
	}
	if _, ok := fresh.Extra("id_token").(string); ok {
		raw, _, err := c.verifyIDToken(ctx, fresh, "", s.user.Subject)
		if err != nil {
			return "", fmt.Errorf("refreshed ID token: %w", err)
		}
		s.idToken = raw
	}
	c.log.Info("access token refreshed; the refresh token was rotated", "subject", s.user.Subject,
		"expires", fresh.Expiry.Format(time.RFC3339))
	s.token = fresh
	return fresh.AccessToken, nil
}

// logout revokes the refresh token (which ends the whole grant at Paylent: the access
// tokens issued with it too, at once for APIs that watch revocations), forgets the session,
// and sends the browser to Paylent's end_session_endpoint to end the Paylent session too
// (RP-Initiated Logout); Paylent sends it back to our post-logout redirect URI.
func (c *webClient) logout(w http.ResponseWriter, r *http.Request) {
	s := c.sessions.get(r)
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.sessions.end(w, s)
	s.mu.Lock()
	tok, idToken := s.token, s.idToken
	s.token = nil
	s.mu.Unlock()
	if tok != nil && tok.RefreshToken != "" {
		if err := c.revoke(r.Context(), tok.RefreshToken); err != nil {
			c.log.Warn("refresh token not revoked", "err", err)
		}
	}
	if idToken == "" || c.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {c.cfg.ClientURL + "/"}, "client_id": {c.cfg.ClientID}}
	http.Redirect(w, r, c.endSession+"?"+q.Encode(), http.StatusSeeOther)
}

// revoke revokes a refresh token (RFC 7009), authenticating as the client.
func (c *webClient) revoke(ctx context.Context, refreshToken string) error {
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.revocation, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 §2.3.1: the credentials are form-urlencoded before Basic encoding.
	req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered %s", resp.Status)
	}
	return nil
}

// signedIn lets only signed-in sessions through; others go to the home page.
func (c *webClient) signedIn(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.get(r)
		if s == nil || s.signedIn() == nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		next(w, r, s)
	}
}

// guard sends browsers that came by another host name (127.0.0.1:3000) to CLIENT_URL, where
// the session cookie lives and the redirect URIs point; refuses cross-origin POSTs; and
// sets the pages' security headers.
func (c *webClient) guard(next http.Handler) http.Handler {
	base, _ := url.Parse(c.cfg.ClientURL)
	origin := base.Scheme + "://" + base.Host
	issuer, _ := url.Parse(c.cfg.Issuer)
	csp := "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' " +
		issuer.Scheme + "://" + issuer.Host // a form's redirect to Paylent (login, logout) must be allowed too
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Host, base.Host) && r.Method == http.MethodGet {
			http.Redirect(w, r, origin+r.URL.RequestURI(), http.StatusFound)
			return
		}
		if r.Method == http.MethodPost && !sameOrigin(r, origin) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "same-origin") // other sites never see our URLs; Origin stays set on our POSTs
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
