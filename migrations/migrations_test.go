package migrations_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paylent/paylent/internal/pgtest"
	"github.com/paylent/paylent/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Four instances starting at once against an empty database all succeed, and the schema
// ends up applied once; running again changes nothing.
func TestUpConcurrentlyAndTwice(t *testing.T) {
	admin, err := pgx.Connect(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	name := fmt.Sprintf("empty_%d", admin.PgConn().PID())
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") }) //nolint:errcheck
	cfg := admin.Config()
	url := strings.Replace(cfg.ConnString(), "/"+cfg.Database, "/"+name, 1)

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- migrations.Up(context.Background(), url, nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Up: %v", err)
		}
	}
	if err := migrations.Up(t.Context(), url, nil); err != nil {
		t.Errorf("second Up: %v", err)
	}
	current, target, err := migrations.Version(t.Context(), url)
	if err != nil || current != target || current < 2 {
		t.Errorf("version %d of %d: %v", current, target, err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var applied int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil || int64(applied) != target {
		t.Errorf("%d migrations recorded, want %d: %v", applied, target, err)
	}
}
