// Package tenants is how the rest of the system sees environments: the host an environment is
// served at, its issuer URL, and its settings. It resolves a request's Host once; everything
// below receives the resulting Tenant as an explicit argument.
package tenants
