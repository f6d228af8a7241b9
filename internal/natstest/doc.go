// Package natstest starts embedded NATS servers (package natsserver) for tests: on a
// random loopback port, with the JetStream store in the test's temporary directory, shut
// down when the test ends. Restart takes one down and brings it back where it was.
package natstest
