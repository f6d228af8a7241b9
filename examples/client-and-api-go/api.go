package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/resourceserver"
)

// The scopes the Documents API owns (registered with `paylent scopes create --api`), and
// the OpenID Connect scope its profile endpoint asks for.
const (
	scopeProfile        = "profile"
	scopeReadDocuments  = "read:documents"
	scopeWriteDocuments = "write:documents"
)

// documentsAPI is the resource server. It never talks to Paylent per request: it verifies
// Paylent's JWT access tokens locally (signature against the environment's published keys,
// issuer, audience = this API's identifier, expiry), and learns about revocations from
// Paylent's events on NATS when it can.
type documentsAPI struct {
	verifier *resourceserver.Verifier
	log      *slog.Logger

	nc    *nats.Conn // nil: no live revocation
	watch *resourceserver.RevocationWatch

	mu     sync.Mutex
	docs   map[string][]document // by owner (the token's subject)
	nextID int
}

// document is what the API stores. It is the API's own data: Paylent knows nothing of it.
type document struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"` // the client (application) that created it
}

// newDocumentsAPI builds the API for cfg's issuer and identifier. It reads Paylent's
// discovery document and keys at once, so a wrong PAYLENT_ISSUER fails now rather than on
// the first request, and subscribes to revocations unless cfg.NATSURL is "off" or cannot
// be reached (then it logs why and runs without).
func newDocumentsAPI(ctx context.Context, cfg config, hc *http.Client, log *slog.Logger) (*documentsAPI, error) {
	v, err := resourceserver.New(resourceserver.Config{Issuer: cfg.Issuer, Audience: cfg.APIIdentifier,
		HTTPClient: hc, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := v.Prefetch(ctx); err != nil {
		return nil, fmt.Errorf("read Paylent's keys at %s (is `paylent serve` running?): %w", cfg.Issuer, err)
	}
	a := &documentsAPI{verifier: v, log: log, docs: map[string][]document{}}
	env, _ := environmentOf(cfg.Issuer) // validated with the config
	a.watchRevocations(ctx, cfg.NATSURL, cfg.NATSCreds, env)
	return a, nil
}

// watchRevocations follows the environment's token.revoked and grant.revoked events, so that
// a revoked access token is refused within milliseconds. Without it, a revoked JWT stays
// valid until it expires (an hour by default): the price of verifying tokens locally.
//
// Paylent's NATS admits only known identities: the API connects as the read-only subscriber,
// with the credentials file in NATS_CREDS.
func (a *documentsAPI) watchRevocations(ctx context.Context, natsURL, creds, env string) {
	const without = "live revocation is off: a revoked access token is accepted until it expires"
	if natsURL == "off" {
		a.log.Info(without, "reason", "NATS_URL=off")
		return
	}
	opts := []nats.Option{nats.Name("paylent-example-documents-api"), nats.Timeout(2 * time.Second), nats.MaxReconnects(-1)}
	if creds != "" {
		opt, err := resourceserver.NATSCredentials(creds)
		if err != nil {
			a.log.Warn(without, "reason", "cannot read NATS_CREDS", "err", err)
			return
		}
		opts = append(opts, opt)
	}
	nc, err := nats.Connect(natsURL, opts...)
	if errors.Is(err, nats.ErrAuthorization) {
		a.log.Warn(without, "reason", "NATS refused the connection: set NATS_CREDS to the file `paylent nats credentials --role subscriber` names",
			"nats_url", natsURL)
		return
	}
	if err != nil {
		a.log.Warn(without, "reason", "cannot connect to NATS", "nats_url", natsURL, "err", err)
		return
	}
	w, err := a.verifier.WatchRevocations(ctx, nc, env)
	if err != nil {
		nc.Close()
		a.log.Warn(without, "reason", "cannot subscribe to revocations", "nats_url", natsURL, "err", err)
		return
	}
	a.nc, a.watch = nc, w
	a.log.Info("live revocation is on: revoked access tokens are refused at once", "nats_url", natsURL, "environment", env)
}

// close ends the revocation subscription.
func (a *documentsAPI) close() {
	if a.watch != nil {
		a.watch.Stop()
	}
	if a.nc != nil {
		a.nc.Close()
	}
}

// handler routes the API. Every route is wrapped in RequireScope, which answers refusals
// per RFC 6750: 401 with WWW-Authenticate when the token is missing, invalid, expired,
// revoked or meant for another API; 403 insufficient_scope naming the scope when it lacks
// one.
func (a *documentsAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/profile", a.verifier.RequireScope(scopeProfile)(http.HandlerFunc(a.profile)))
	mux.Handle("GET /api/documents", a.verifier.RequireScope(scopeReadDocuments)(http.HandlerFunc(a.listDocuments)))
	mux.Handle("POST /api/documents", a.verifier.RequireScope(scopeWriteDocuments)(http.HandlerFunc(a.createDocument)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return logRequests(a.log, mux)
}

// profileAnswer is what GET /api/profile says about the caller: what the access token
// told the API, and what the API itself holds for that user.
type profileAnswer struct {
	Subject   string    `json:"subject"`
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	Audience  []string  `json:"audience"`
	ExpiresAt time.Time `json:"token_expires_at"`
	Documents int       `json:"documents"`
}

func (a *documentsAPI) profile(w http.ResponseWriter, r *http.Request) {
	c, _ := resourceserver.ClaimsFromContext(r.Context())
	writeJSON(w, http.StatusOK, profileAnswer{Subject: c.Subject, ClientID: c.ClientID, Scopes: c.Scopes,
		Audience: c.Audience, ExpiresAt: c.ExpiresAt, Documents: len(a.documentsOf(c.Subject))})
}

func (a *documentsAPI) listDocuments(w http.ResponseWriter, r *http.Request) {
	c, _ := resourceserver.ClaimsFromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string][]document{"documents": a.documentsOf(c.Subject)})
}

// newDocument is the body of POST /api/documents.
type newDocument struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

func (a *documentsAPI) createDocument(w http.ResponseWriter, r *http.Request) {
	c, _ := resourceserver.ClaimsFromContext(r.Context())
	var in newDocument
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_request", Description: "the body must be {\"title\": ..., \"body\": ...}"})
		return
	}
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" || len(in.Title) > 200 || len(in.Body) > 10000 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_request", Description: "a title of 1 to 200 characters and a body of at most 10,000 are required"})
		return
	}
	a.documentsOf(c.Subject) // the welcome documents first
	a.mu.Lock()
	a.nextID++
	d := document{ID: strconv.Itoa(a.nextID), Title: in.Title, Body: in.Body, CreatedAt: time.Now().UTC(), CreatedBy: c.ClientID}
	a.docs[c.Subject] = append(a.docs[c.Subject], d)
	a.mu.Unlock()
	w.Header().Set("Location", "/api/documents/"+d.ID)
	writeJSON(w, http.StatusCreated, d)
}

// documentsOf returns the owner's documents, giving a new owner two to start with.
func (a *documentsAPI) documentsOf(owner string) []document {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.docs[owner]; !ok {
		now := time.Now().UTC()
		for _, d := range []newDocument{
			{"Welcome to the Documents API", "This document lives in the example API, not in Paylent. The API knows you only by the subject of the access token the app sent."},
			{"How this page got here", "The app sent its access token to GET /api/documents. The API checked the signature against Paylent's published keys, the issuer, the audience (this API's identifier), the expiry and the read:documents scope, without asking Paylent."},
		} {
			a.nextID++
			a.docs[owner] = append(a.docs[owner], document{ID: strconv.Itoa(a.nextID), Title: d.Title, Body: d.Body, CreatedAt: now, CreatedBy: "documents-api"})
		}
	}
	return append([]document(nil), a.docs[owner]...)
}

// apiError is the API's own error body (refusals of tokens are resourceserver's, with the
// same shape).
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client may be gone; nothing to do about it
}

// logRequests logs each request's method, path, status and duration (never its headers:
// they carry tokens).
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
