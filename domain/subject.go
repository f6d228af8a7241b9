package domain

// The JetStream layout of the event log: a public contract for downstream services
// (docs/EVENTS.md). Never change it silently.
const (
	// StreamName is the JetStream stream that carries every committed event.
	StreamName = "PAYLENT_EVENTS"
	// SubjectPrefix starts every event subject.
	SubjectPrefix = "paylent.events."
	// SubjectWildcard matches every event subject.
	SubjectWildcard = SubjectPrefix + ">"
)

// Subject is where an event is published:
// paylent.events.<environment>.<aggregate>.<event>, e.g. paylent.events.acme-test.token.revoked.
func (e Envelope) Subject() string {
	return SubjectPrefix + e.Environment + "." + e.Type
}
