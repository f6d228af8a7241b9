// Package eventstore is the append-only event log: the Store interface, its PostgreSQL
// implementation (group commit, dense commit-ordered positions, per-environment hash
// chain), an in-memory implementation for unit tests, chain verification, and the command
// loop that is the only way state changes (load → fold → decide → append → retry).
package eventstore
