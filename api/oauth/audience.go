package oauth

import (
	"strings"

	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// Audience applies the domain's audience rules (oauth.Audience) to an environment as the
// catalog knows it.
func Audience(cat *catalog.Catalog, t tenants.Tenant, scope oauth.Scopes, resources []string) ([]string, oauth.Scopes, error) {
	return oauth.Audience(oauth.AudienceSource{Issuer: t.Issuer, DefaultAPI: t.Settings.DefaultAPI,
		IsAPI: func(id string) bool { _, ok := cat.API(t.Slug, id); return ok },
		ScopeAPI: func(name string) (string, bool) {
			sc, ok := cat.Scope(t.Slug, name)
			return sc.API, ok
		}}, scope, resources)
}

// resources are the resource parameters of a request (RFC 8707 allows several).
func (f form) resources() []string {
	if f["resource"] == "" {
		return nil
	}
	return strings.Split(f["resource"], " ")
}
