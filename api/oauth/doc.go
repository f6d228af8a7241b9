// Package oauth serves the OAuth 2.0 / OpenID Connect endpoints of an environment: token
// (RFC 6749), introspection (RFC 7662), revocation (RFC 7009), discovery (RFC 8414, OpenID
// Connect Discovery) and JWKS. Handlers parse HTTP into plain values, run domain commands
// through the command loop and read projections; protocol rules live in domain.
package oauth
