// Package web serves the pages a person sees: the authorization endpoint (RFC 6749 §4.1,
// RFC 7636, OpenID Connect Core §3.1) with its login and consent pages, registration and
// account recovery ("Forgot password?"), and RP-initiated logout. Pages are Go templates embedded in the binary; every POST form carries a CSRF
// token bound to a cookie and is refused from another origin; pages cannot be framed.
package web
