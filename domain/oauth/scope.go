package oauth

import (
	"sort"
	"strings"
)

// The standard scopes, present in every environment.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// The Management API's scopes, granted to clients by client credentials only.
const (
	ScopeAdminRead  = "admin:read"
	ScopeAdminWrite = "admin:write"
	ScopeAdminUsers = "admin:users"
)

// StandardScopes are the scopes every environment has without creating them — the OpenID
// Connect scopes and the Management API's — with their descriptions.
var StandardScopes = map[string]string{
	ScopeOpenID:        "Sign you in",
	ScopeProfile:       "See your name and profile",
	ScopeEmail:         "See your email address",
	ScopeOfflineAccess: "Stay signed in (keep access while you are away)",
	ScopeAdminRead:     "Read this environment's configuration (Management API)",
	ScopeAdminWrite:    "Change this environment's configuration (Management API)",
	ScopeAdminUsers:    "Manage this environment's users and sessions (Management API)",
}

// IsManagement reports whether name is a Management API scope.
func IsManagement(name string) bool {
	return name == ScopeAdminRead || name == ScopeAdminWrite || name == ScopeAdminUsers
}

// ManagementAudience is the audience of tokens for an environment's Management API.
func ManagementAudience(issuer string) string { return issuer + "/api/v1" }

// IsStandard reports whether name is a standard scope.
func IsStandard(name string) bool { _, ok := StandardScopes[name]; return ok }

// MaxScopeName bounds one scope's length.
const MaxScopeName = 100

// ValidScopeName accepts RFC 6749 scope-tokens restricted to a safe set: letters, digits and
// ":._-/", 1 to 100 characters.
func ValidScopeName(s string) bool {
	if len(s) == 0 || len(s) > MaxScopeName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":._-/", c) >= 0) {
			return false
		}
	}
	return true
}

// Scopes is a set of scope names, kept sorted and unique.
type Scopes []string

// ParseScopes reads a space-delimited scope parameter (RFC 6749 §3.3). It refuses empty
// tokens from doubled or edge spaces, and names outside the safe set.
func ParseScopes(param string) (Scopes, error) {
	if param == "" {
		return nil, nil
	}
	parts := strings.Split(param, " ")
	seen := make(map[string]bool, len(parts))
	out := make(Scopes, 0, len(parts))
	for _, p := range parts {
		if !ValidScopeName(p) {
			if p == "" {
				return nil, ErrInvalidScope.WithDescription("scope values are separated by single spaces")
			}
			return nil, ErrInvalidScope.WithDescription("scope %q is malformed", truncate(p, 40))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// NewScopes builds a set from names.
func NewScopes(names ...string) Scopes {
	seen := map[string]bool{}
	out := Scopes{}
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// String is the space-delimited form.
func (s Scopes) String() string { return strings.Join(s, " ") }

// Has reports whether name is in the set.
func (s Scopes) Has(name string) bool {
	i := sort.SearchStrings(s, name)
	return i < len(s) && s[i] == name
}

// SubsetOf reports whether every scope of s is in other; the first missing one is returned.
func (s Scopes) SubsetOf(other Scopes) (string, bool) {
	for _, n := range s {
		if !other.Has(n) {
			return n, false
		}
	}
	return "", true
}

// Without returns s minus the given names.
func (s Scopes) Without(names ...string) Scopes {
	out := Scopes{}
	for _, n := range s {
		drop := false
		for _, x := range names {
			drop = drop || n == x
		}
		if !drop {
			out = append(out, n)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
