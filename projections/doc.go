// Package projections runs read models built only from events. A Runtime feeds one
// projection from NATS JetStream (the fast path) and from the event store (the truth: any gap
// in what NATS delivered is filled from PostgreSQL by position), applies each event exactly
// once in position order, checkpoints snapshots, rebuilds on demand, and lets callers wait
// until a position is applied (read-your-own-writes). The read models live in sub-packages.
package projections
