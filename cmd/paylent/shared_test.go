package main_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/internal/natstest"
	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/internal/pgtest"
)

// Two instances on one PostgreSQL and one NATS: what one writes, the other serves; the
// database and NATS go away and come back, and everything resumes without a restart.
func TestSharedInfrastructureFaults(t *testing.T) {
	t.Parallel()
	cluster := pgtest.NewCluster(t)
	dbURL := pgtest.MigratedURL(t, cluster)
	ns := natstest.Start(t)
	shared := []string{"DATABASE_URL=" + dbURL, "NATS_URL=" + ns.ClientURL(),
		"PAYLENT_MASTER_KEY=" + strings.Repeat("ab", 32)}
	a := serve(t, append(shared, "PAYLENT_DATA_DIR="+dataDir(t)))
	b := serve(t, append(shared, "PAYLENT_DATA_DIR="+dataDir(t), "PAYLENT_PUBLIC_DOMAIN="+a.domain))
	b.domain = a.domain
	cliEnv := append(shared, "PAYLENT_DATA_DIR="+dataDir(t), "PAYLENT_PUBLIC_DOMAIN="+a.domain)

	// Shared infrastructure seeds nothing.
	eventually(t, time.Minute, "instances up", func() bool {
		ca, _ := a.get("anything", "/healthz")
		cb, _ := b.get("anything", "/healthz")
		return ca == http.StatusOK && cb == http.StatusOK
	})
	if code, body := a.get(a.host("examples-dev"), "/"); code != http.StatusNotFound {
		t.Errorf("examples-dev exists with shared infrastructure: %d %v", code, body)
	}
	create := func(slug string) {
		t.Helper()
		if code, out, errOut := cli(t, cliEnv, "env", "create", "--account", "acme", "--slug", slug); code != 0 {
			t.Fatalf("env create %s: %d %s %s", slug, code, out, errOut)
		}
		for _, inst := range []*instance{a, b} {
			eventually(t, 5*time.Second, slug+" visible", func() bool {
				code, _ := inst.get(inst.host(slug), "/")
				return code == http.StatusOK
			})
		}
	}
	create("acme-one")
	a.waitReady("acme-one", 30*time.Second)
	b.waitReady("acme-one", 30*time.Second)

	// The database goes away: readiness says so, with a JSON body; writes fail clearly.
	if err := cluster.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "readyz reports the database", func() bool {
		code, body := a.get(a.host("acme-one"), "/readyz")
		checks, _ := body["checks"].(map[string]any)
		return code == http.StatusServiceUnavailable && checks["database"] == "unavailable"
	})
	if code, body := a.get(a.host("acme-one"), "/"); code != http.StatusOK {
		t.Errorf("reads from projections must keep working without the database: %d %v", code, body)
	}
	if code, _, errOut := cli(t, cliEnv, "env", "create", "--account", "acme", "--slug", "acme-down"); code == 0 {
		t.Error("env create succeeded with the database down")
	} else if strings.Contains(errOut, "panic") {
		t.Errorf("env create with the database down: %s", errOut)
	}
	if _, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: cluster.Dir, Port: cluster.Port}); err != nil {
		t.Fatal(err)
	}
	a.waitReady("acme-one", 30*time.Second)
	b.waitReady("acme-one", 30*time.Second)
	create("acme-two")

	// NATS goes away: writes still succeed, and both instances end up with them.
	ns.Shutdown()
	if code, out, errOut := cli(t, cliEnv, "env", "create", "--account", "acme", "--slug", "acme-three"); code != 0 {
		t.Fatalf("env create with NATS down: %d %s %s", code, out, errOut)
	}
	ns = natstest.Restart(t, ns)
	for _, inst := range []*instance{a, b} {
		eventually(t, 10*time.Second, "acme-three visible after NATS came back", func() bool {
			code, _ := inst.get(inst.host("acme-three"), "/")
			return code == http.StatusOK
		})
		inst.waitReady("acme-three", 30*time.Second)
	}
	create("acme-four")
	for i, inst := range []*instance{a, b} {
		inst.stop()
		if strings.Contains(inst.output(), "level=ERROR") {
			t.Errorf("instance %d logged errors:\n%s", i, inst.output())
		}
	}
	if code, out, _ := cli(t, cliEnv, "verify", "--env", "acme-three"); code != 0 {
		t.Errorf("verify: %s", out)
	}
}
