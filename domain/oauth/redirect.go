package oauth

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// MaxRedirectURI bounds a redirect URI's length.
const MaxRedirectURI = 2000

// ValidateRedirectURI checks a redirect URI for registration: absolute, no fragment, no
// user info; https, or http only for loopback and localhost (RFC 8252 §7.3, development), or
// a private-use scheme for native apps (RFC 8252 §7.1, e.g. com.example.app:/callback). It
// returns a message for the first broken rule, or "".
func ValidateRedirectURI(raw string) string {
	if raw == "" || len(raw) > MaxRedirectURI {
		return "must be 1 to 2000 characters"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a valid URI"
	case !u.IsAbs():
		return "must be an absolute URI"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not contain a fragment"
	case u.User != nil:
		return "must not contain user information"
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "https":
		if u.Host == "" {
			return "must name a host"
		}
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return "must use https (http is allowed only for localhost and loopback addresses)"
		}
	case "javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss":
		return "uses a scheme that cannot be a redirect target"
	default:
		// A private-use scheme of a native app: RFC 8252 asks for a reverse domain name.
		if !strings.Contains(scheme, ".") {
			return "custom schemes must be reverse domain names (e.g. com.example.app:/callback)"
		}
	}
	return ""
}

// IsLoopbackHost reports whether host is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MatchRedirectURI reports whether a redirect URI given in an authorization request matches
// a registered one: exactly, or — for http on a loopback IP literal (127.0.0.0/8, ::1) —
// with any port, as RFC 8252 §7.3 requires for native apps that listen on an ephemeral
// port. Everything else (scheme, host, path, query) must still be identical; "localhost"
// is matched exactly (RFC 8252 §8.3 advises against it: it need not resolve to loopback).
func MatchRedirectURI(registered, given string) bool {
	if registered == given {
		return true
	}
	r, err1 := url.Parse(registered)
	g, err2 := url.Parse(given)
	if err1 != nil || err2 != nil || r.Scheme != "http" || g.Scheme != "http" || r.Hostname() != g.Hostname() {
		return false
	}
	ip := net.ParseIP(r.Hostname())
	if ip == nil || !ip.IsLoopback() || g.Port() == "" && r.Port() == "" {
		return false
	}
	if _, err := strconv.ParseUint(g.Port(), 10, 16); g.Port() != "" && err != nil {
		return false
	}
	r.Host, g.Host = r.Hostname(), g.Hostname()
	if ip.To4() == nil {
		r.Host, g.Host = "["+r.Host+"]", "["+g.Host+"]"
	}
	return r.String() == g.String() && r.User == nil && g.User == nil && g.Fragment == "" && !strings.Contains(given, "#")
}
