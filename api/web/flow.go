package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// flowLifetime bounds how long a person may take between the authorization request and
// their answer on the login or consent page.
const flowLifetime = 15 * time.Minute

// authRequest is a validated authorization request, carried through the login and consent
// pages in a signed form field (integrity, not secrecy: it holds nothing secret).
type authRequest struct {
	Env           string   `json:"e"`
	ClientID      string   `json:"c"`
	RedirectURI   string   `json:"r"`
	RedirectGiven bool     `json:"rg,omitempty"`
	Scope         string   `json:"s"`
	State         string   `json:"st,omitempty"`
	Nonce         string   `json:"n,omitempty"`
	Challenge     string   `json:"cc,omitempty"`
	Prompt        string   `json:"p,omitempty"`
	MaxAge        int64    `json:"m"` // -1: none
	Resources     []string `json:"res,omitempty"`
	Expires       int64    `json:"x"`
	// ACR is the authentication context the client asked for (acr_values, or an essential
	// acr in claims): session.ACRMultiFactor asks for a second factor; "" for none.
	ACR string `json:"acr,omitempty"`
	// LoginHint prefills the login page's email field (login_hint).
	LoginHint string `json:"lh,omitempty"`
}

var errBadFlow = errors.New("the sign-in request is invalid or has expired")

// seal signs a request for the pages.
func (h *Handlers) seal(r authRequest, now time.Time) string {
	r.Expires = now.Add(flowLifetime).Unix()
	b, _ := json.Marshal(r)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + h.sign("flow", body)
}

// open verifies a sealed request for the environment.
func (h *Handlers) open(sealed, env string, now time.Time) (authRequest, error) {
	body, sig, ok := strings.Cut(sealed, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(h.sign("flow", body))) {
		return authRequest{}, errBadFlow
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	var r authRequest
	if err != nil || json.Unmarshal(b, &r) != nil || r.Env != env || now.Unix() > r.Expires {
		return authRequest{}, errBadFlow
	}
	return r, nil
}

func (h *Handlers) sign(purpose, body string) string {
	m := hmac.New(sha256.New, h.key(purpose))
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// key derives a purpose-bound key from the master key.
func (h *Handlers) key(purpose string) []byte {
	m := hmac.New(sha256.New, h.MasterKey)
	m.Write([]byte("paylent web v1\x00" + purpose))
	return m.Sum(nil)
}
