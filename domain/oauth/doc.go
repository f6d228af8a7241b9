// Package oauth holds the protocol rules every flow shares: the RFC 6749 error type, scope
// syntax and the standard OpenID Connect scopes, redirect URI rules (RFC 6749 §3.1.2,
// RFC 8252 for native apps) and PKCE (RFC 7636). Pure: no I/O.
package oauth
