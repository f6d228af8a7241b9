package session_test

import (
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/session"
)

func TestRevokeAll(t *testing.T) {
	now := time.Now()
	started := func(id string) domain.Event {
		return session.Started{SessionID: id, UserID: "u1", AuthTime: now, ExpiresAt: now.Add(time.Hour)}
	}
	cmd := session.RevokeAll{Environment: "acme-test", SessionIDs: []string{"s1", "s2", "s3"}, Reason: session.ReasonOperator}
	if got := cmd.Streams(); len(got) != 3 || got[1] != session.Stream("acme-test", "s2") {
		t.Fatalf("streams: %v", got)
	}
	out, err := cmd.Decide([][]domain.Event{
		{started("s1")},
		{started("s2"), session.Revoked{Reason: "logout"}}, // already ended: left alone
		nil, // unknown: left alone
	}, now)
	if err != nil || len(out) != 3 || len(out[0]) != 1 || len(out[1]) != 0 || len(out[2]) != 0 {
		t.Fatalf("decide: %v %v", out, err)
	}
	if r, ok := out[0][0].(session.Revoked); !ok || r.Reason != session.ReasonOperator {
		t.Fatalf("event: %#v", out[0][0])
	}
}
