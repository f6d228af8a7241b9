package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// savedTokens is the token file. It holds secrets: it is written with mode 0600 in a 0700
// directory.
type savedTokens struct {
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"client_id"`
	Subject      string    `json:"subject"`
	Scope        string    `json:"scope"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token"`
	Expiry       time.Time `json:"expiry"`
}

// saveTokens writes the file atomically (a temporary file, renamed), so that a crash never
// leaves half a file, and never with wider permissions than 0600.
func saveTokens(path string, t savedTokens) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token directory: %w", err)
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tokens-*") // created with mode 0600
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	defer os.Remove(f.Name()) // gone after the rename; cleans up after a failure
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	return nil
}

// identity is who the verified ID token names.
type identity struct {
	raw, subject, name string
}

// verifyIDToken checks the ID token's signature, issuer, audience (our client id) and
// expiry, its nonce (this login's), and at_hash against the access token.
func verifyIDToken(ctx context.Context, v *oidc.IDTokenVerifier, tok *oauth2.Token, nonce string) (identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, errors.New("no id_token in the answer (ask for the openid scope)")
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return identity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return identity{}, errors.New("nonce mismatch")
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return identity{}, err
		}
	}
	var claims struct{ Name string }
	if err := idt.Claims(&claims); err != nil {
		return identity{}, err
	}
	return identity{raw: raw, subject: idt.Subject, name: claims.Name}, nil
}

// openBrowser asks the desktop to open u.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no graphical session")
		}
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // reaps the opener; whether the browser came up, only the user sees
	return nil
}

// newHTTPClient talks to Paylent. Its development issuers are
// http://<environment>.localhost:4000: browsers resolve *.localhost to the loopback
// interface themselves (RFC 6761 §6.3), Go's resolver does not, so this transport dials
// localhost and *.localhost on 127.0.0.1 (URL and Host header unchanged).
func newHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = func(r *http.Request) (*url.URL, error) {
		if isLocalhost(r.URL.Hostname()) {
			return nil, nil
		}
		return http.ProxyFromEnvironment(r)
	}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && isLocalhost(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: 15 * time.Second, Transport: transport}
}

func isLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
