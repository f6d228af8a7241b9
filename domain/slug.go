package domain

// reservedSlugs are hosts Paylent serves itself, never an environment.
var reservedSlugs = map[string]bool{
	"dashboard": true, "api": true, "www": true, "admin": true, "static": true,
	"assets": true, "mail": true, "nats": true, "status": true, "paylent": true,
}

// OperatorsAccount and OperatorsEnvironment hold the dashboard's operators: the
// environment whose users sign in to the dashboard (the dashboard is its OIDC client). Both
// slugs are reserved, so no tenant can take them; only the system creates them.
const (
	OperatorsAccount     = "paylent"
	OperatorsEnvironment = "paylent"
)

// ValidateSystemSlug is ValidateSlug for what the system creates itself: the operators'
// account and environment are allowed, other reserved names are not.
func ValidateSystemSlug(field, slug string) error {
	if slug == OperatorsAccount || slug == OperatorsEnvironment {
		return nil
	}
	return ValidateSlug(field, slug)
}

// ValidateSlug checks an account or environment slug: 2 to 40 characters of lower-case
// letters, digits and single hyphens, starting with a letter and not ending with a hyphen.
// Environment slugs are DNS labels (<slug>.<public domain>), hence the strict form.
func ValidateSlug(field, slug string) error {
	if len(slug) < 2 || len(slug) > 40 {
		return Invalid(field, "must be 2 to 40 characters long")
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		switch {
		case c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		case c == '-' && i > 0 && i < len(slug)-1 && slug[i-1] != '-':
		default:
			return Invalid(field, "may hold only lower-case letters, digits and single hyphens, starting with a letter and ending with a letter or digit")
		}
	}
	if reservedSlugs[slug] {
		return Invalid(field, "%q is reserved", slug)
	}
	return nil
}
