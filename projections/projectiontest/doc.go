// Package projectiontest is the one conformance suite every read model passes: a snapshot
// round-trips, a rebuild (with restarts from checkpoints on the way) equals the live model,
// and nothing crosses environments. Log builds an event log that holds every event type
// this build stores, so a read model is tested against all of them.
package projectiontest
