// Package keys is the read model of every environment's signing keys: the primary that
// signs tokens (decrypted with the master key once, on first use, and kept in memory), and
// the public keys that verify them (the JWKS: primary, next, and retired keys until their
// tokens have expired). Snapshots hold private keys only as they are stored: sealed.
package keys
