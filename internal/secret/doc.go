// Package secret generates and hashes Paylent's secrets: random identifiers, client secrets
// and tokens (stored only as SHA-256 hashes: they are high-entropy and server-generated),
// and user passwords (Argon2id, in PHC string form that records its parameters so they can
// be raised later).
package secret
