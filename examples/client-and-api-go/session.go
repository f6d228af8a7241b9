package main

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

const (
	sessionCookie = "docs_session"
	// loginTimeout bounds how long a started login (state, nonce, PKCE verifier) is kept.
	loginTimeout = 10 * time.Minute
	// idleTimeout ends a signed-in session nobody used for this long.
	idleTimeout = 8 * time.Hour
)

// session is one browser's state, kept on the server: the browser holds only a random
// session id in an HttpOnly cookie, never a token.
type session struct {
	id string
	// Guarded by the store's mu: when the session was last used, and for how long it may
	// then stay unused.
	lastSeen time.Time
	idle     time.Duration

	// Guarded by mu, which is also held while the tokens are refreshed (so that two
	// requests never present the same refresh token).
	mu sync.Mutex
	// A login in progress: what the callback must find again.
	state, nonce, verifier string
	// After login.
	user    *user
	token   *oauth2.Token // access token, refresh token, expiry
	idToken string        // the raw ID token, sent back as id_token_hint at logout
}

// user is who signed in, from the verified ID token.
type user struct {
	Subject, Name, Email string
}

// signedIn returns the session's user (nil before login).
func (s *session) signedIn() *user {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// sessionStore holds sessions in memory, by id. A real application would use a shared store
// (a database, Redis) to run several instances; the rules stay the same.
type sessionStore struct {
	secure bool // Secure cookies (the app is served over https)

	mu        sync.Mutex
	sessions  map[string]*session
	lastSweep time.Time
}

func newSessionStore(secure bool) *sessionStore {
	return &sessionStore{secure: secure, sessions: map[string]*session{}}
}

// get returns the request's session, or nil.
func (st *sessionStore) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[c.Value]
	if s == nil {
		return nil
	}
	if now.Sub(s.lastSeen) > s.idle {
		delete(st.sessions, s.id)
		return nil
	}
	s.lastSeen = now
	return s
}

// start replaces the browser's session, if any, with a new one that may stay unused for
// idle, and sets its cookie. Starting a login and finishing one both call it, so the id a
// browser had before signing in is never the one that carries its tokens (no session
// fixation).
func (st *sessionStore) start(w http.ResponseWriter, r *http.Request, idle time.Duration, init func(*session)) *session {
	s := &session{id: rand.Text(), idle: idle} // 26 base32 characters: 130 random bits
	init(s)
	now := time.Now()
	st.mu.Lock()
	if c, err := r.Cookie(sessionCookie); err == nil {
		delete(st.sessions, c.Value)
	}
	s.lastSeen = now
	st.sessions[s.id] = s
	st.sweep(now)
	st.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.id, Path: "/", HttpOnly: true, Secure: st.secure,
		SameSite: http.SameSiteLaxMode})
	return s
}

// end removes the session and clears its cookie.
func (st *sessionStore) end(w http.ResponseWriter, s *session) {
	st.mu.Lock()
	delete(st.sessions, s.id)
	st.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: st.secure,
		SameSite: http.SameSiteLaxMode})
}

// each calls f with every live session (the tests look inside).
func (st *sessionStore) each(f func(*session)) {
	st.mu.Lock()
	all := make([]*session, 0, len(st.sessions))
	for _, s := range st.sessions {
		all = append(all, s)
	}
	st.mu.Unlock()
	for _, s := range all {
		f(s)
	}
}

// sweep drops expired sessions, at most once a minute; st.mu is held.
func (st *sessionStore) sweep(now time.Time) {
	if now.Sub(st.lastSweep) < time.Minute {
		return
	}
	st.lastSweep = now
	for id, s := range st.sessions {
		if now.Sub(s.lastSeen) > s.idle {
			delete(st.sessions, id)
		}
	}
}

// sameOrigin reports whether a state-changing request comes from the app's own pages. The
// session cookie is SameSite=Lax, so other sites' forms arrive without it anyway; this
// checks Origin (or Sec-Fetch-Site) as well.
func sameOrigin(r *http.Request, origin string) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return strings.EqualFold(o, origin)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin"
}
