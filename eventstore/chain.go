package eventstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/paylent/paylent/domain"
)

// GenesisHash is the previous hash of an environment's first event.
var GenesisHash = make([]byte, sha256.Size)

// TimeLayout is how occurred_at enters the hash: UTC, microseconds (PostgreSQL's precision).
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// NormalizeTime is the form in which a time is stored and hashed.
func NormalizeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Hash computes an event's chain hash: SHA-256 over the previous hash and every envelope
// field except the hashes, each length-prefixed so no two envelopes share an encoding.
func Hash(prev []byte, e domain.Envelope) []byte {
	h := sha256.New()
	var n [8]byte
	writeBytes := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	writeInt := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	writeBytes(prev)
	writeInt(e.Position)
	writeBytes([]byte(e.ID))
	writeBytes([]byte(e.Environment))
	writeBytes([]byte(e.Stream))
	writeInt(e.StreamVersion)
	writeBytes([]byte(e.Type))
	writeInt(int64(e.SchemaVersion))
	writeBytes([]byte(NormalizeTime(e.OccurredAt).Format(TimeLayout)))
	writeBytes(e.Actor)
	writeBytes(e.Data)
	return h.Sum(nil)
}

// ChainError names the first position at which an environment's history stops verifying.
type ChainError struct {
	Environment string
	Position    int64
	Reason      string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("environment %s: hash chain broken at position %d: %s", e.Environment, e.Position, e.Reason)
}

// VerifyReport summarises a successful verification.
type VerifyReport struct {
	Environment string
	Events      int64
	Head        int64
	HeadHash    []byte
}

// Verify re-reads an environment's whole history and checks every link of its hash chain,
// the continuity of each stream's versions, and that the chain ends where the store's head
// record says it does (so a removed tail is noticed too). A break is a *ChainError.
func Verify(ctx context.Context, s Store, environment string) (VerifyReport, error) {
	rep := VerifyReport{Environment: environment}
	prev := GenesisHash
	versions := map[string]int64{}
	var after int64
	for {
		batch, err := s.ReadEnvironment(ctx, environment, after, 5000)
		if err != nil {
			return rep, fmt.Errorf("verify %s: %w", environment, err)
		}
		for _, e := range batch {
			if reason := checkLink(prev, versions, e); reason != "" {
				return rep, &ChainError{Environment: environment, Position: e.Position, Reason: reason}
			}
			versions[e.Stream] = e.StreamVersion
			prev = e.Hash
			rep.Events++
			rep.Head, rep.HeadHash = e.Position, e.Hash
		}
		if len(batch) < 5000 {
			break
		}
		after = batch[len(batch)-1].Position
	}
	head, err := s.EnvironmentHead(ctx, environment)
	if err != nil {
		return rep, fmt.Errorf("verify %s: %w", environment, err)
	}
	switch {
	case head.Events != rep.Events || head.Position != rep.Head:
		return rep, &ChainError{Environment: environment, Position: rep.Head + 1, Reason: fmt.Sprintf(
			"the log ends at position %d after %d events, but the chain head records position %d after %d events (events removed?)",
			rep.Head, rep.Events, head.Position, head.Events)}
	case rep.Events > 0 && !bytes.Equal(head.Hash, rep.HeadHash):
		return rep, &ChainError{Environment: environment, Position: rep.Head, Reason: "last hash differs from the recorded chain head"}
	}
	return rep, nil
}

func checkLink(prev []byte, versions map[string]int64, e domain.Envelope) string {
	switch {
	case !bytes.Equal(e.PrevHash, prev):
		return "previous hash does not match the hash of the event before it (an event was removed, inserted or reordered)"
	case !bytes.Equal(Hash(prev, e), e.Hash):
		return "hash does not match the event's content (the event was altered)"
	case e.StreamVersion != versions[e.Stream]+1:
		return fmt.Sprintf("stream %s jumps from version %d to %d", e.Stream, versions[e.Stream], e.StreamVersion)
	}
	return ""
}
