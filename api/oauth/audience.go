package oauth

import (
	"sort"
	"strings"

	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

// Audience decides an access token's audience (and, when resource indicators narrow it,
// its scope), from the granted scopes and the RFC 8707 resource parameters:
//
//   - with resources: each must be an API of the environment (else invalid_target); the
//     audience is those APIs and the scope keeps only the granted scopes they own;
//   - without: the APIs owning the granted scopes, plus the environment's default API for
//     custom scopes that belong to no API; the issuer when no API is concerned; and the
//     UserInfo endpoint for tokens that carry only OpenID Connect scopes.
func Audience(cat *catalog.Catalog, t tenants.Tenant, scope oauth.Scopes, resources []string) ([]string, oauth.Scopes, error) {
	if len(resources) > 0 {
		want := map[string]bool{}
		for _, r := range resources {
			if _, ok := cat.API(t.Slug, r); !ok && r != oauth.ManagementAudience(t.Issuer) {
				return nil, nil, oauth.ErrInvalidTarget.WithDescription("resource %q is not an API of this environment", truncate(r, 80))
			}
			want[r] = true
		}
		var narrowed []string
		for _, s := range scope {
			sc, ok := cat.Scope(t.Slug, s)
			if ok && (want[sc.API] || (oauth.IsManagement(s) && want[oauth.ManagementAudience(t.Issuer)])) {
				narrowed = append(narrowed, s)
			}
		}
		if len(narrowed) == 0 {
			return nil, nil, oauth.ErrInvalidTarget.WithDescription("none of the granted scopes is for the requested resource")
		}
		return sortedKeys(want), oauth.NewScopes(narrowed...), nil
	}
	owners, custom := map[string]bool{}, false
	for _, s := range scope {
		if oauth.IsManagement(s) {
			owners[oauth.ManagementAudience(t.Issuer)] = true
			continue
		}
		if oauth.IsStandard(s) {
			continue
		}
		custom = true
		sc, _ := cat.Scope(t.Slug, s)
		switch {
		case sc.API != "":
			owners[sc.API] = true
		case t.Settings.DefaultAPI != "":
			owners[t.Settings.DefaultAPI] = true
		}
	}
	switch {
	case len(owners) > 0:
		return sortedKeys(owners), scope, nil
	case custom:
		return []string{t.Issuer}, scope, nil
	default:
		return []string{t.Issuer + "/oauth/userinfo"}, scope, nil
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// resources are the resource parameters of a request (RFC 8707 allows several).
func (f form) resources() []string {
	if f["resource"] == "" {
		return nil
	}
	return strings.Split(f["resource"], " ")
}
