package resourceserver

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// introspector asks the issuer about opaque tokens (RFC 7662), caches active answers briefly
// and lets concurrent requests for one token share a call. Tokens are kept only as SHA-256
// hashes.
type introspector struct {
	cfg     Introspection
	mu      sync.Mutex
	cache   map[[32]byte]cachedClaims
	flights map[[32]byte]*introspection
}

type cachedClaims struct {
	claims *Claims
	until  time.Time
}

// introspection is one call to the endpoint that several requests may wait for.
type introspection struct {
	done   chan struct{}
	claims *Claims
	err    error
}

// introspectionResponse is RFC 7662 §2.2's answer.
type introspectionResponse struct {
	Active    bool   `json:"active"`
	TokenType string `json:"token_type"`
	wireClaims
}

func newIntrospector(cfg Introspection) *introspector {
	return &introspector{cfg: cfg, cache: map[[32]byte]cachedClaims{}, flights: map[[32]byte]*introspection{}}
}

// introspect verifies an opaque token through the issuer's introspection endpoint.
func (v *Verifier) introspect(ctx context.Context, token string) (*Claims, error) {
	key := sha256.Sum256([]byte(token))
	in := v.intro
	in.mu.Lock()
	if c, ok := in.cache[key]; ok && v.now().Before(c.until) {
		in.mu.Unlock()
		return v.stillValid(c.claims)
	}
	call := in.flights[key]
	if call == nil {
		call = &introspection{done: make(chan struct{})}
		in.flights[key] = call
		go v.runIntrospection(ctx, key, token, call)
	}
	in.mu.Unlock()
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, unavailable(ctx.Err())
	}
	if call.err != nil {
		return nil, call.err
	}
	return v.stillValid(call.claims)
}

// stillValid re-checks what may have changed since the answer: expiry and revocation.
func (v *Verifier) stillValid(c *Claims) (*Claims, error) {
	if !c.ExpiresAt.IsZero() && v.now().After(c.ExpiresAt.Add(v.leeway)) {
		return nil, invalid(descExpired)
	}
	if v.denied.has(c.JTI) || v.denied.has(clientKey(c.ClientID)) {
		return nil, invalid(descRevoked)
	}
	return c, nil
}

// runIntrospection makes one call and caches an active answer. It does not use the first
// caller's cancellation: the others waiting for it must not fail with it.
func (v *Verifier) runIntrospection(ctx context.Context, key [32]byte, token string, call *introspection) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	call.claims, call.err = v.askIssuer(ctx, token)
	in := v.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.flights, key)
	if call.err == nil && in.cfg.CacheTTL > 0 {
		until := v.now().Add(in.cfg.CacheTTL)
		if exp := call.claims.ExpiresAt; !exp.IsZero() && exp.Before(until) {
			until = exp
		}
		in.store(key, cachedClaims{claims: call.claims, until: until}, v.now())
	}
	close(call.done)
}

// store caches an entry, first evicting expired ones when full; if still full, one entry.
func (in *introspector) store(key [32]byte, c cachedClaims, now time.Time) {
	if len(in.cache) >= in.cfg.MaxCacheEntries {
		for k, e := range in.cache {
			if !now.Before(e.until) {
				delete(in.cache, k)
			}
		}
	}
	for k := range in.cache {
		if len(in.cache) < in.cfg.MaxCacheEntries {
			break
		}
		delete(in.cache, k)
	}
	in.cache[key] = c
}

// askIssuer posts the token to the introspection endpoint and judges the answer. An
// inactive token is invalid_token; a failure to get an answer is unavailable.
func (v *Verifier) askIssuer(ctx context.Context, token string) (*Claims, error) {
	m, err := v.keys.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if m.IntrospectionEndpoint == "" {
		return nil, unavailable(fmt.Errorf("issuer %s publishes no introspection_endpoint", v.issuer))
	}
	body, err := v.postIntrospection(ctx, m.IntrospectionEndpoint, token)
	if err != nil {
		v.log.Warn("resourceserver: introspection failed", "issuer", v.issuer, "err", err)
		return nil, unavailable(err)
	}
	var r introspectionResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, unavailable(fmt.Errorf("decode introspection: %w", err))
	}
	if !r.Active {
		return nil, invalid(descInactive)
	}
	if t := strings.ToLower(r.TokenType); t != "" && t != "bearer" && t != "access_token" {
		return nil, invalid(descInactive) // a refresh token is not an access token
	}
	if r.Issuer == "" {
		r.Issuer = v.issuer
	}
	t, err := v.checkCommon(&r.wireClaims)
	if err != nil {
		return nil, err
	}
	return r.claims(t, body), nil
}

func (v *Verifier) postIntrospection(ctx context.Context, endpoint, token string) ([]byte, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the credentials are form-encoded before Basic encoding.
	req.SetBasicAuth(url.QueryEscape(v.intro.cfg.ClientID), url.QueryEscape(v.intro.cfg.ClientSecret))
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("introspection: status %d", resp.StatusCode)
	case len(body) > maxDocument:
		return nil, fmt.Errorf("introspection: response larger than %d bytes", maxDocument)
	}
	return body, nil
}
