package workers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paylent/paylent/workers"
)

// The dev outbox records each mail's environment (the dashboard's mailbox filters on it),
// and a header value cannot smuggle in another header.
func TestOutboxRecordsEnvironment(t *testing.T) {
	dir := t.TempDir()
	o := workers.Outbox{Dir: dir, From: "Paylent <no-reply@example.com>"}
	m := workers.Mail{ID: "reg-1", To: "a@example.com", Subject: "Hi", Text: "Your code is 123456\n", Environment: "acme-test\r\nBcc: x@evil.example"}
	if err := o.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "reg-1.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\r\n"+workers.EnvironmentHeader+": acme-test  Bcc: x@evil.example\r\n") || strings.Contains(string(b), "\r\nBcc:") {
		t.Errorf("outbox file:\n%s", b)
	}
}
