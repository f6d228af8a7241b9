package workers

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/internal/eventsig"
)

// Signatures made ahead, on several goroutines, are each event's own, in order, whatever
// the batch's size against the chunk.
func TestSignAhead(t *testing.T) {
	signer := eventsig.Derive(make([]byte, 32), eventsig.CurrentVersion)
	keys := eventsig.NewKeySet(signer.Public())
	for _, n := range []int{0, 1, signChunk, signChunk + 1, 1000} {
		batch := make([]domain.Envelope, n)
		for i := range batch {
			h := sha256.Sum256([]byte(fmt.Sprint(n, i)))
			batch[i].Hash = h[:]
		}
		sigs := signAhead(signer, batch)
		for i := range batch {
			if err := keys.VerifySignature(batch[i].Hash, sigs.at(i)); err != nil {
				t.Fatalf("batch of %d, event %d: %v", n, i, err)
			}
		}
	}
}
