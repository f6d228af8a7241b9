package main_test

import (
	"strings"
	"testing"
)

// PAYLENT_NATS_REPLICAS is auto or a count from 1 to 5; anything else is refused at start,
// named, with the other problems.
func TestNATSReplicasConfig(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"seven", "0", "6", "-1"} {
		code, out, errOut := cli(t, []string{"DATABASE_URL=postgres://127.0.0.1:1/x", "NATS_URL=nats://127.0.0.1:1",
			"PAYLENT_MASTER_KEY=" + strings.Repeat("ab", 32), "PAYLENT_NATS_REPLICAS=" + v, "PAYLENT_LOG_LEVEL=loud",
			"PAYLENT_DATA_DIR=" + dataDir(t)}, "serve")
		if code == 0 || !strings.Contains(errOut, `PAYLENT_NATS_REPLICAS "`+v+`": want auto or 1 to 5`) ||
			!strings.Contains(errOut, "PAYLENT_LOG_LEVEL") {
			t.Errorf("PAYLENT_NATS_REPLICAS=%s: exit %d\n%s%s", v, code, out, errOut)
		}
	}
}
