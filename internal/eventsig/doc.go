// Package eventsig signs and verifies Paylent events on the wire. The relay signs every
// message it publishes with an Ed25519 key derived from the master key; projections, the
// relay's own resynchronisation and downstream services verify the signature and the
// event's hash before they trust anything a NATS message says. NATS is a wire, not an
// authority: a message that does not verify is dropped and the event read from PostgreSQL.
package eventsig
