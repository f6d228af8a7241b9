// Package dashboard serves the operators' dashboard at dashboard.<public domain>: server-
// rendered pages over the same domain commands as the CLI and the Management API. The
// dashboard is an OpenID Connect client of Paylent's own operators' environment: operators
// sign in through the login pages every tenant's users see.
package dashboard
