package tenants

import (
	"errors"
	"fmt"
	"strings"

	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections/catalog"
)

// ErrUnknownHost: no environment is served at the host.
var ErrUnknownHost = errors.New("no environment is served at this host")

// DashboardSlug is the host label of the dashboard: dashboard.<public domain>.
const DashboardSlug = "dashboard"

// Tenant is a resolved environment.
type Tenant struct {
	Slug     string
	Account  string
	Issuer   string
	Settings environment.Settings
	// SigningAlg is the algorithm of the environment's signing keys (RS256 or ES256).
	SigningAlg string
}

// Directory resolves hosts to environments from the catalog projection.
type Directory struct {
	catalog *catalog.Catalog
	domain  string // public domain, lower case, e.g. "localhost:4000"
	scheme  string // "http" or "https"
}

// NewDirectory returns a directory for environments served at <slug>.<publicDomain>.
func NewDirectory(c *catalog.Catalog, publicDomain, scheme string) *Directory {
	return &Directory{catalog: c, domain: strings.ToLower(publicDomain), scheme: scheme}
}

// Issuer is the issuer URL of the environment with the given slug.
func (d *Directory) Issuer(slug string) string { return d.scheme + "://" + slug + "." + d.domain }

// DashboardHost is the dashboard's host.
func (d *Directory) DashboardHost() string { return DashboardSlug + "." + d.domain }

// Label returns the first label of host if host is <label>.<public domain>. Host is
// compared case-insensitively; a trailing dot is ignored.
func (d *Directory) Label(host string) (string, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	label, rest, ok := strings.Cut(host, ".")
	if !ok || rest != d.domain || label == "" {
		return "", false
	}
	return label, true
}

// Resolve returns the environment served at host.
func (d *Directory) Resolve(host string) (Tenant, error) {
	slug, ok := d.Label(host)
	if !ok {
		return Tenant{}, fmt.Errorf("host %q: %w", host, ErrUnknownHost)
	}
	return d.Get(slug)
}

// Get returns the environment with the given slug.
func (d *Directory) Get(slug string) (Tenant, error) {
	env, ok := d.catalog.Environment(slug)
	if !ok {
		return Tenant{}, fmt.Errorf("environment %q: %w", slug, ErrUnknownHost)
	}
	return Tenant{Slug: env.Slug, Account: env.Account, Issuer: d.Issuer(env.Slug), Settings: env.Settings,
		SigningAlg: environment.SigningAlgOf(env.SigningAlg)}, nil
}
