package natsserver

import "github.com/nats-io/nats-server/v2/server"

// Role is one of Paylent's NATS identities. Each connects with its own nkey and has only the
// rights its work needs (docs/ARCHITECTURE.md, "NATS identities"); deploy/nats/nats-server.conf
// grants the same rights on a shared NATS, and a test keeps the two equal.
type Role string

const (
	// RoleRelay publishes the event log: the only identity that may publish on
	// paylent.events.>, and the one that creates and updates the stream.
	RoleRelay Role = "relay"
	// RoleInstance is what a Paylent instance does besides relaying: projections consume the
	// stream, the rate limiter reads and writes its KV bucket. It cannot publish events.
	RoleInstance Role = "instance"
	// RoleSubscriber is for downstream services: read the stream, nothing else.
	RoleSubscriber Role = "subscriber"
)

// Roles lists every role, relay first.
var Roles = []Role{RoleRelay, RoleInstance, RoleSubscriber}

// Inbox prefixes of Paylent's own connections. Replies (JetStream acknowledgements, API
// answers, consumer deliveries) come to the connection's inbox; private prefixes keep a
// subscriber, which may listen on _INBOX.>, from reading the instances' traffic. Connect
// with nats.CustomInboxPrefix(role.InboxPrefix()).
const (
	relayInbox    = "_INBOX_PAYLENT_RELAY"
	instanceInbox = "_INBOX_PAYLENT_INSTANCE"
	defaultInbox  = "_INBOX"
)

// InboxPrefix is the inbox prefix the role's connections use.
func (r Role) InboxPrefix() string {
	switch r {
	case RoleRelay:
		return relayInbox
	case RoleInstance:
		return instanceInbox
	default:
		return defaultInbox
	}
}

// The names the permissions are about: domain's StreamName and SubjectWildcard, and
// api/ratelimit's DefaultBucket (internal packages import none of ours; a test checks they
// agree).
const (
	EventStream     = "PAYLENT_EVENTS"
	EventSubjects   = "paylent.events.>"
	RateLimitBucket = "PAYLENT_RATELIMITS"
)

// Permissions returns what the role may publish and subscribe to. Everything is an
// allow-list; publishing on the event subjects is also denied explicitly to every role but
// the relay, so that a later, wider allow cannot open it by accident.
func (r Role) Permissions() *server.Permissions {
	const (
		api    = "$JS.API."
		stream = EventStream
		kv     = "KV_" + RateLimitBucket
		events = EventSubjects
	)
	// Reading the event stream: its info, and ephemeral (ordered) consumers on it. The
	// filter subject, when one, is part of CONSUMER.CREATE's subject.
	consume := []string{
		api + "STREAM.INFO." + stream,
		api + "CONSUMER.CREATE." + stream,
		api + "CONSUMER.CREATE." + stream + ".>",
		api + "CONSUMER.INFO." + stream + ".*",
		api + "CONSUMER.DELETE." + stream + ".*",
		api + "CONSUMER.MSG.NEXT." + stream + ".*",
	}
	switch r {
	case RoleRelay:
		return &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{
				events,
				api + "STREAM.CREATE." + stream,
				api + "STREAM.UPDATE." + stream,
				api + "STREAM.INFO." + stream,
				api + "STREAM.MSG.GET." + stream,
			}},
			Subscribe: &server.SubjectPermission{Allow: []string{relayInbox + ".>"}},
		}
	case RoleInstance:
		return &server.Permissions{
			Publish: &server.SubjectPermission{
				Allow: append(consume,
					api+"INFO", // account limits, which creating the KV bucket reads
					api+"STREAM.INFO."+kv,
					api+"STREAM.CREATE."+kv,
					api+"STREAM.MSG.GET."+kv,
					api+"DIRECT.GET."+kv+".>",
					"$KV."+RateLimitBucket+".>",
				),
				Deny: []string{events},
			},
			Subscribe: &server.SubjectPermission{Allow: []string{instanceInbox + ".>"}},
		}
	default: // RoleSubscriber
		return &server.Permissions{
			Publish: &server.SubjectPermission{
				Allow: append(consume,
					api+"STREAM.MSG.GET."+stream,
					api+"CONSUMER.DURABLE.CREATE."+stream+".*",
					// No CONSUMER.NAMES or LIST: a subscriber learns no other consumer's
					// name, so it cannot delete the instances' or other services' ones.
					"$JS.ACK."+stream+".>", // acknowledging a durable consumer's messages
					"$JS.FC."+stream+".>",  // flow control of push consumers
				),
				Deny: []string{events, "$KV.>", api + "STREAM.CREATE.>", api + "STREAM.UPDATE.>",
					api + "STREAM.DELETE.>", api + "STREAM.PURGE.>", api + "STREAM.MSG.DELETE.>",
					api + "CONSUMER.NAMES.>", api + "CONSUMER.LIST.>"},
			},
			Subscribe: &server.SubjectPermission{Allow: []string{events, defaultInbox + ".>"}},
		}
	}
}
