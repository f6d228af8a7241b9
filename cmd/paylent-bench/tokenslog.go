package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/token"
	"github.com/paylent/paylent/eventstore"
)

// tokensLogStart is the clock of the tokens benchmark's log: events occur 10 ms apart.
var tokensLogStart = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

const tokensLogStep = 10 * time.Millisecond

// tokensLog appends n token.issued events (and a token.revoked after every 100th) to an
// in-memory store, in two environments: half opaque client-credentials access tokens
// (20 clients, 4 scopes), half user tokens in grants (an opaque access and an opaque
// refresh token per grant, 5,000 users). Every token lives ttl from its issue. Returns the
// store and the number of events.
func tokensLog(ctx context.Context, reg *domain.Registry, n int, ttl time.Duration) (*eventstore.Memory, int, error) {
	store := eventstore.NewMemory()
	events := 0
	at := tokensLogStart
	appendOne := func(env string, jti string, e domain.Event) error {
		typ, ver, data, err := reg.Encode(e)
		if err != nil {
			return err
		}
		at = at.Add(tokensLogStep)
		events++
		_, err = store.Append(ctx, eventstore.StreamAppend{Environment: env, Stream: token.Stream(env, jti).Stream,
			ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{{Type: typ, SchemaVersion: ver, Data: data,
				OccurredAt: at, Actor: domain.Actor{Kind: domain.ActorSystem, ID: "paylent-bench"}}}})
		return err
	}
	for i := range n {
		if i%10_000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		env := []string{"bench-a", "bench-b"}[i%2]
		e := benchToken(i, at.Add(tokensLogStep), ttl)
		if err := appendOne(env, e.JTI, e); err != nil {
			return nil, 0, fmt.Errorf("append token %d: %w", i, err)
		}
		if i%100 == 99 {
			r := token.Revoked{JTI: e.JTI, Kind: e.Kind, ClientID: e.ClientID, ExpiresAt: e.ExpiresAt, Reason: "bench"}
			if err := appendOne(env, e.JTI, r); err != nil {
				return nil, 0, fmt.Errorf("append revocation %d: %w", i, err)
			}
		}
	}
	return store, events, nil
}

// benchToken is the i-th token of the log, issued at at.
func benchToken(i int, at time.Time, ttl time.Duration) token.Issued {
	h := sha256.Sum256(fmt.Appendf(nil, "bench-token-%d", i))
	hash := hex.EncodeToString(h[:])
	client := fmt.Sprintf("client-%02d", i%20)
	e := token.Issued{JTI: token.HashJTI(hash), Kind: token.KindAccess, Format: token.FormatOpaque, TokenHash: hash,
		ClientID: client, Subject: client, SubjectKind: token.SubjectClient,
		Scope:    []string{"read", "read write", "orders:read", "orders:read orders:write"}[i%4],
		Audience: []string{"https://api.example.com/"}, IssuedAt: at, ExpiresAt: at.Add(ttl)}
	if i%4 >= 2 { // a user's grant: its access token, then its refresh token
		auth := at.Add(-time.Minute)
		e.Subject, e.SubjectKind = fmt.Sprintf("user-%04d", (i/4)%5000), token.SubjectUser
		e.GrantID = fmt.Sprintf("grant-%08d", i/4)
		e.Scope, e.Audience = "openid profile email offline_access", nil
		e.AuthTime, e.ACR, e.AMR = &auth, "urn:paylent:acr:pwd", []string{"pwd"}
		if i%4 == 3 {
			e.Kind = token.KindRefresh
		}
	}
	return e
}
