// Package metrics holds Paylent's Prometheus metric families: their names, labels and
// buckets, registered on a registry the composition root creates and serves (no global
// registry). Components never import it: each declares the small observer interface it
// calls (api.RequestObserver, app.TokenObserver, eventstore.AppendObserver, ...), and
// *Metrics implements them all. State that already lives in a component (projection
// positions, the relay's lag, NATS connections, the password hasher's queue) is read at
// scrape time through Sources.
package metrics
