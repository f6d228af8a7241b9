package access

// Parties is what a face knows, from current read models, of the user and the client a
// presented token was issued for.
type Parties struct {
	ClientExists bool
	// ForUser: the token was issued for a user (not to a client for itself).
	ForUser      bool
	UserExists   bool
	UserDisabled bool
}

// Honoured reports whether a token of these parties may still be honoured: its client
// exists and, for a user's token, the user exists and is not disabled. Every face that
// accepts a token (introspection, UserInfo, the Management API, refresh) asks this, so
// ending a party ends its tokens at once, even before their revocation events arrive.
func (p Parties) Honoured() bool {
	if !p.ClientExists {
		return false
	}
	return !p.ForUser || p.UserExists && !p.UserDisabled
}
