package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

var (
	//go:embed templates/*.html
	templateFiles embed.FS
	//go:embed static
	staticFiles embed.FS
)

// pages renders the app's server-side HTML.
type pages struct {
	tmpl   *template.Template
	issuer string
	log    *slog.Logger
}

func newPages(issuer string, log *slog.Logger) (*pages, error) {
	t, err := template.ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &pages{tmpl: t, issuer: issuer, log: log}, nil
}

// view is what every page template receives.
type view struct {
	Title  string
	User   *user
	Issuer string
	Notice string

	Profile   *profileAnswer
	Documents []document
	Created   *document
	Refusal   *refusal
	Problem   string // a page's own explanation of what went wrong
}

// refusal is an API answer other than success, shown as it came.
type refusal struct {
	Status      int
	StatusText  string
	Challenge   string // WWW-Authenticate
	Error       string
	Description string
	Scope       string
	Explanation string
}

func (p *pages) render(w http.ResponseWriter, status int, name string, v view) {
	v.Issuer = p.issuer
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		p.log.Error("render", "page", name, "err", err)
		http.Error(w, "This page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the browser may be gone
}

// problem renders an error page.
func (p *pages) problem(w http.ResponseWriter, status int, u *user, title, text string) {
	p.render(w, status, "problem.html", view{Title: title, User: u, Problem: text})
}

// notices are the home page's messages, chosen by a fixed key (never text from the URL).
var notices = map[string]string{
	"ended": "Your session at Paylent has ended (the refresh token was revoked or expired). Please log in again.",
}

func (c *webClient) home(w http.ResponseWriter, r *http.Request) {
	var u *user
	if s := c.sessions.get(r); s != nil {
		u = s.signedIn()
	}
	c.pages.render(w, http.StatusOK, "home.html", view{Title: "Home", User: u,
		Notice: notices[r.URL.Query().Get("notice")]})
}

func (c *webClient) profile(w http.ResponseWriter, r *http.Request, s *session) {
	var p profileAnswer
	if c.callAPI(w, r, s, http.MethodGet, "/api/profile", nil, &p) {
		c.pages.render(w, http.StatusOK, "profile.html", view{Title: "Your profile", User: s.signedIn(), Profile: &p})
	}
}

func (c *webClient) documents(w http.ResponseWriter, r *http.Request, s *session) {
	var list struct{ Documents []document }
	if c.callAPI(w, r, s, http.MethodGet, "/api/documents", nil, &list) {
		c.pages.render(w, http.StatusOK, "documents.html", view{Title: "Your documents", User: s.signedIn(), Documents: list.Documents})
	}
}

func (c *webClient) newDocumentForm(w http.ResponseWriter, _ *http.Request, s *session) {
	c.pages.render(w, http.StatusOK, "new.html", view{Title: "Create a document", User: s.signedIn()})
}

func (c *webClient) createDocument(w http.ResponseWriter, r *http.Request, s *session) {
	in := newDocument{Title: r.PostFormValue("title"), Body: r.PostFormValue("body")}
	var d document
	if c.callAPI(w, r, s, http.MethodPost, "/api/documents", in, &d) {
		c.pages.render(w, http.StatusOK, "created.html", view{Title: "Document created", User: s.signedIn(), Created: &d})
	}
}

// callAPI calls the Documents API with the session's access token (refreshed first when it
// has expired) and decodes a successful answer into out. Otherwise it renders what went
// wrong, and reports false.
func (c *webClient) callAPI(w http.ResponseWriter, r *http.Request, s *session, method, path string, in, out any) bool {
	u := s.signedIn()
	token, err := c.accessToken(r.Context(), s)
	if errors.Is(err, errSessionEnded) {
		c.sessions.end(w, s)
		http.Redirect(w, r, "/?notice=ended", http.StatusSeeOther)
		return false
	}
	if err != nil {
		c.log.Warn("no access token", "err", err)
		c.pages.problem(w, http.StatusBadGateway, u, "Paylent cannot be reached", "The access token has expired and could not be refreshed right now. Try again in a moment.")
		return false
	}
	status, header, body, err := c.send(r.Context(), method, path, token, in)
	if err != nil {
		c.log.Warn("API request failed", "path", path, "err", err)
		c.pages.problem(w, http.StatusBadGateway, u, "The Documents API cannot be reached", "Is it running at "+c.cfg.APIURL+"?")
		return false
	}
	if status == http.StatusOK || status == http.StatusCreated {
		if err := json.Unmarshal(body, out); err != nil {
			c.pages.problem(w, http.StatusBadGateway, u, "Unexpected answer", "The Documents API's answer is not what this app understands.")
			return false
		}
		return true
	}
	ref := &refusal{Status: status, StatusText: http.StatusText(status), Challenge: header.Get("WWW-Authenticate")}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Scope       string `json:"scope"`
	}
	json.Unmarshal(body, &e) //nolint:errcheck // a refusal without a body is shown by its status
	ref.Error, ref.Description, ref.Scope = e.Error, e.Description, e.Scope
	switch e.Error {
	case "insufficient_scope":
		ref.Explanation = "The API needs the scope " + e.Scope + ", and this app's token does not carry it: the app asked Paylent only for \u201c" +
			strings.Join(requestedScopes, " ") + "\u201d. That is the API doing its job. An app that needs it must be allowed the scope and ask for it."
	case "invalid_token":
		ref.Explanation = "The API does not accept this app's access token (the description says why). Usually it was revoked at Paylent, or has expired: log out and in again."
	}
	c.pages.render(w, status, "refused.html", view{Title: "The Documents API refused", User: u, Refusal: ref})
	return false
}

// send makes one request to the API with a bearer token.
func (c *webClient) send(ctx context.Context, method, path, token string, in any) (int, http.Header, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, nil, err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.APIURL+path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, b, err
}
