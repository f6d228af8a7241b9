// Package resourceserver protects an API with access tokens issued by Paylent.
//
// A [Verifier] is configured for one API of one environment: the environment's issuer
// (e.g. http://examples-dev.localhost:4000) and the API's identifier as registered with
// `paylent apis create` (e.g. http://localhost:4100), which Paylent puts in the aud of
// tokens for that API's scopes. The package talks to Paylent only over HTTP (discovery,
// JWKS, introspection) and optionally NATS (revocation events); it imports nothing else of
// Paylent and is meant to be imported by services outside it.
//
//	verifier, err := resourceserver.New(resourceserver.Config{
//		Issuer:   "http://examples-dev.localhost:4000",
//		Audience: "http://localhost:4100",
//	})
//	...
//	mux.Handle("GET /documents", verifier.RequireScope("docs:read")(documentsHandler))
//
// and in the handler, [ClaimsFromContext] gives the token's subject, client, scopes and
// other claims. Fiber applications use the sub-package rsfiber; other transports use
// [Verifier.Authorize] (or [BearerToken] and [Verifier.Verify]) and
// [Verifier.ErrorResponse].
//
// # JWT access tokens
//
// Paylent's JWT access tokens (RFC 9068) are verified locally, without a request to
// Paylent per token: the signature (RS256, or ES256 for an environment created with ES256
// keys) against the environment's published keys, header
// typ at+jwt (so an ID token is never taken for an access token), iss equal to the
// configured issuer, aud containing the configured audience, exp, nbf and iat with a leeway
// of 30 seconds, and the presence of sub, client_id and jti. Only the algorithms of
// [Config.Algorithms] are accepted (RS256 and ES256 by default); "none" and HMAC algorithms cannot be
// configured at all, so neither an unsigned token nor one "signed" with the public key as an
// HMAC secret ever passes. A token must name its key (kid) and the key must be of the
// algorithm's type (and curve: P-256 for ES256) and, when the JWK names an alg, of that alg:
// a token cannot choose its algorithm against the key's.
//
// Keys come from the jwks_uri of the issuer's discovery document, which must name the
// configured issuer. They are parsed once and cached for the JWKS response's Cache-Control
// max-age (Paylent says 5 minutes) or [Config.KeyCacheTTL]; expired keys keep verifying
// while one background request refreshes them, and keep verifying if the issuer cannot be
// reached. A token whose kid is not in the cache makes the verifier fetch the JWKS again,
// once: Paylent publishes its next key before it starts signing with it, so after a
// rotation the new kid is normally already known, and tokens of the previous key keep
// passing as long as the JWKS lists it. Fetches of any cause happen at most once per
// [Config.MinRefreshInterval] (10 seconds), however many tokens with unknown kids arrive,
// and concurrent requests wait for the same fetch.
//
// # Revocation
//
// A JWT verified locally stays valid until it expires, even after it was revoked at
// Paylent: that is the price of not asking Paylent about every token. [Verifier.WatchRevocations]
// removes it: it follows the environment's token.revoked and grant.revoked events on
// Paylent's NATS JetStream and refuses the revoked jtis until they expire, typically within
// a few milliseconds of the revocation. When it starts it reads the revocations of the last
// hour (the default access-token lifetime; see [Config.RevocationLookback]), and after a
// disconnection it resumes where it stopped, so no revocation is missed.
//
// # Opaque tokens
//
// Tokens that are not JWTs (clients with --token-format opaque) are refused unless
// [Config.Introspection] is set; then they are checked at the issuer's introspection
// endpoint (RFC 7662) with a confidential client's credentials. Active answers are cached
// for 30 seconds (never beyond the token's expiry); inactive answers are never cached. The
// same issuer, audience and expiry checks apply, refresh tokens are refused, and the
// deny-list of WatchRevocations overrules the cache.
//
// # Errors
//
// Every refusal is an *[Error] carrying the RFC 6750 answer: 401 with a bare
// `WWW-Authenticate: Bearer realm="..."` when no token was sent, 401 invalid_token (with a
// fixed error_description that never echoes the token), 403 insufficient_scope with the
// scopes needed, 400 invalid_request for a malformed Authorization header, and 503 when the
// issuer cannot be reached to verify a token (it was not judged invalid: clients should
// retry). Tokens are read only from the Authorization header, never from query strings or
// bodies.
//
// # Local development
//
// Go does not resolve *.localhost host names as browsers do. Against a Paylent on the
// default PAYLENT_PUBLIC_DOMAIN (localhost:4000), give [Config.HTTPClient] a transport that
// dials *.localhost on 127.0.0.1.
package resourceserver
