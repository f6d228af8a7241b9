// Package workers holds the background processes of an instance: the relay that publishes
// the event log to NATS JetStream (and, as they arrive, the mailer, the sweeper and key
// rotation).
package workers
