package client

// Kind is an application type a registration can start from: the client type, grants and
// redirect URIs such an application needs. A kind is a starting point, not a rule: the
// registration keeps only the settings (an operator may change any of them).
type Kind struct {
	// Key names the kind in forms and links ("web", "spa", "native", "m2m").
	Key string
	// Name and Summary say what it is for.
	Name, Summary string
	Type          Type
	Grants        []string
	// RedirectURI is an example redirect URI to start from ("" when the kind needs none).
	RedirectURI string
	// UserScopes: the kind signs users in, so the OpenID Connect scopes are offered;
	// a machine-to-machine client gets only its APIs' scopes.
	UserScopes bool
}

// NeedsRedirect reports whether clients of this kind need a redirect URI.
func (k Kind) NeedsRedirect() bool {
	for _, g := range k.Grants {
		if g == GrantAuthorizationCode {
			return true
		}
	}
	return false
}

// kinds are the application types, in the order forms offer them.
var kinds = []Kind{
	{Key: "web", Name: "Web application", Summary: "a server-rendered app that keeps a secret (authorization code and refresh tokens)",
		Type: Confidential, Grants: []string{GrantAuthorizationCode, GrantRefreshToken}, UserScopes: true},
	{Key: "spa", Name: "Single-page application", Summary: "runs in the browser, keeps no secret (authorization code with PKCE, refresh tokens)",
		Type: Public, Grants: []string{GrantAuthorizationCode, GrantRefreshToken}, UserScopes: true},
	{Key: "native", Name: "Native or CLI application", Summary: "a desktop, mobile or command-line app (authorization code with PKCE, loopback redirect)",
		Type: Public, Grants: []string{GrantAuthorizationCode}, RedirectURI: "http://127.0.0.1/callback", UserScopes: true},
	{Key: "m2m", Name: "Machine to machine", Summary: "a backend that calls your APIs as itself (client credentials, no users, no redirect)",
		Type: Confidential, Grants: []string{GrantClientCredentials}},
}

// Kinds returns the application types (a copy: callers may not change them).
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		k.Grants = append([]string(nil), k.Grants...)
		out[i] = k
	}
	return out
}

// KindOf returns the application type with key.
func KindOf(key string) (Kind, bool) {
	for _, k := range Kinds() {
		if k.Key == key {
			return k, true
		}
	}
	return Kind{}, false
}
