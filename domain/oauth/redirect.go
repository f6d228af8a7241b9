package oauth

import (
	"net"
	"net/url"
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
