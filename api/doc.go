// Package api is the HTTP face of Paylent: one fiber application serving every environment's
// host (resolved once per request by tenants), health endpoints on any host, and, as they
// arrive, the OAuth/OIDC endpoints, pages, Management API and dashboard. Handlers translate
// HTTP to commands and queries; they hold no SQL and no business rules.
package api
