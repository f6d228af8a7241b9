package oauth

import (
	"sort"
)

// AudienceSource is what the audience rules read of an environment: its issuer, its
// default API, which identifiers are its APIs and which API owns a custom scope.
type AudienceSource struct {
	Issuer     string
	DefaultAPI string
	// IsAPI reports whether identifier is an API registered in the environment.
	IsAPI func(identifier string) bool
	// ScopeAPI gives the API owning a custom scope ("" for none), and whether the scope
	// exists.
	ScopeAPI func(scope string) (string, bool)
}

// Audience decides an access token's audience (and, when resource indicators narrow it,
// its scope), from the granted scopes and the RFC 8707 resource parameters:
//
//   - with resources: each must be an API of the environment or its Management API (else
//     invalid_target); the audience is those, and the scope keeps only the granted scopes
//     they own (invalid_target when none is left);
//   - without: the APIs owning the granted scopes (the Management API for its scopes), plus
//     the environment's default API for custom scopes that belong to no API; the issuer
//     when custom scopes concern no API; and the UserInfo endpoint for tokens that carry
//     only OpenID Connect scopes.
func Audience(src AudienceSource, scope Scopes, resources []string) ([]string, Scopes, error) {
	mgmt := ManagementAudience(src.Issuer)
	if len(resources) > 0 {
		want := map[string]bool{}
		for _, r := range resources {
			if r != mgmt && !src.IsAPI(r) {
				return nil, nil, ErrInvalidTarget.WithDescription("resource %q is not an API of this environment", truncate(r, 80))
			}
			want[r] = true
		}
		var narrowed []string
		for _, s := range scope {
			if IsManagement(s) {
				if want[mgmt] {
					narrowed = append(narrowed, s)
				}
				continue
			}
			if api, ok := src.ScopeAPI(s); ok && api != "" && want[api] {
				narrowed = append(narrowed, s)
			}
		}
		if len(narrowed) == 0 {
			return nil, nil, ErrInvalidTarget.WithDescription("none of the granted scopes is for the requested resource")
		}
		return sortedKeys(want), NewScopes(narrowed...), nil
	}
	owners, custom := map[string]bool{}, false
	for _, s := range scope {
		if IsManagement(s) {
			owners[mgmt] = true
			continue
		}
		if IsStandard(s) {
			continue
		}
		custom = true
		api, _ := src.ScopeAPI(s)
		switch {
		case api != "":
			owners[api] = true
		case src.DefaultAPI != "":
			owners[src.DefaultAPI] = true
		}
	}
	switch {
	case len(owners) > 0:
		return sortedKeys(owners), scope, nil
	case custom:
		return []string{src.Issuer}, scope, nil
	default:
		return []string{src.Issuer + "/oauth/userinfo"}, scope, nil
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
