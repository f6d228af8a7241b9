// Package pgcluster runs a private PostgreSQL cluster from the machine's own server binaries
// (initdb, pg_ctl, postgres): the embedded database of `paylent serve` and the database that
// tests start for themselves. The cluster listens on 127.0.0.1 only, with unix sockets
// disabled, and its superuser `paylent` logs in with a generated password kept in the data
// directory. Run as root, the binaries run as the `postgres` OS user.
package pgcluster
