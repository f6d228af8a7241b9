package dashboard

import (
	"slices"
	"strings"

	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/projections/catalog"
)

// secretPlaceholder stands for a secret that is no longer shown.
const secretPlaceholder = "(shown once at creation — rotate to get a new one)"

// quickstart is a ready .env for the published examples (examples/client-and-api reads
// ISSUER, REDIRECT_URI and API_AUDIENCE; examples/client-and-api-go reads PAYLENT_ISSUER,
// CLIENT_URL and API_IDENTIFIER; both CLIENT_ID and CLIENT_SECRET). secret is the client's
// secret when it was just made, "" otherwise.
func quickstart(issuer string, cl catalog.Client, scopes []catalog.Scope, secret string) string {
	var b strings.Builder
	line := func(parts ...string) { b.WriteString(strings.Join(parts, "") + "\n") }
	line("# ", oneLine(cl.Settings.Name), ": a .env for examples/client-and-api and examples/client-and-api-go")
	line("ISSUER=", issuer)
	line("PAYLENT_ISSUER=", issuer)
	line("CLIENT_ID=", cl.ID)
	switch {
	case cl.Type != client.Confidential:
		line("# A public client has no secret: it proves itself with PKCE.")
	case secret != "":
		line("CLIENT_SECRET=", secret)
	default:
		line("CLIENT_SECRET=", secretPlaceholder)
	}
	if uris := cl.Settings.RedirectURIs; len(uris) > 0 {
		line("REDIRECT_URI=", uris[0])
		if base, ok := strings.CutSuffix(uris[0], "/callback"); ok && (strings.HasPrefix(base, "http://") || strings.HasPrefix(base, "https://")) {
			line("# The Go example's redirect URI is CLIENT_URL + /callback.")
			line("CLIENT_URL=", base)
		}
	}
	if uris := cl.Settings.PostLogoutRedirectURIs; len(uris) > 0 {
		line("POST_LOGOUT_REDIRECT_URI=", uris[0])
	}
	if api := onlyAPI(cl, scopes); api != "" {
		line("# The API this client's scopes belong to: the audience of its access tokens.")
		line("API_AUDIENCE=", api)
		line("API_IDENTIFIER=", api)
	}
	return b.String()
}

// onlyAPI is the one API the client's scopes belong to ("" for none, or more than one).
func onlyAPI(cl catalog.Client, scopes []catalog.Scope) string {
	api := ""
	for _, s := range scopes {
		if s.API == "" || !slices.Contains(cl.Settings.Scopes, s.Name) {
			continue
		}
		if api != "" && api != s.API {
			return ""
		}
		api = s.API
	}
	return api
}

// oneLine keeps a name on its comment line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
