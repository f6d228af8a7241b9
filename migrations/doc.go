// Package migrations holds Paylent's SQL schema, embedded into the binary and applied with
// goose at start and by `paylent migrate`.
package migrations
