package keys

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/paylent/paylent/domain/eventtypes"
	"github.com/paylent/paylent/projections/projectiontest"
)

// The streamed snapshot is byte for byte what json.Marshal of the whole state wrote before
// checkpoints were streamed: checkpoints written by earlier versions restore as they are.
func TestStreamedSnapshotIsTheFormerEncoding(t *testing.T) {
	m := New(bytes.Repeat([]byte{1}, 32))
	for _, rec := range projectiontest.Log(t, eventtypes.Registry(), "acme-test", "acme-live") {
		if err := m.Apply(rec); err != nil {
			t.Fatal(err)
		}
	}
	former, err := json.Marshal(m.st)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(former, streamed) {
		t.Fatalf("streamed snapshot differs from the former encoding:\n%s\n%s", former, streamed)
	}
	if len(former) < 200 {
		t.Fatalf("the log left little to compare: %s", former)
	}
}
