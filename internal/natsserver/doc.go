// Package natsserver runs an embedded NATS server with JetStream (file store) inside the
// process: the default message bus of `paylent serve`, and the one tests start.
package natsserver
