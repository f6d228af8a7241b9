package eventtypes_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paylent/paylent/domain/eventtypes"
)

// docs/EVENTS.md is the event contract for outsiders: every type this build stores is in it.
func TestEveryEventTypeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "EVENTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range eventtypes.Registry().Types() {
		if !strings.Contains(string(doc), "`"+typ+"`") {
			t.Errorf("docs/EVENTS.md does not document %s", typ)
		}
	}
}
