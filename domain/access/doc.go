// Package access holds the decisions that end access: a user disabled or deleted, a client
// deleted, a consent revoked. Each is one command over every stream it ends (the user or
// client, their sessions, grants and tokens), so it is one atomic append: either access ends
// everywhere, with the revocation events resource servers follow, or nothing changes.
// It also holds the rules every face applies before honouring a token: whether its user and
// client still stand.
package access
