package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paylent/paylent/internal/ports"
)

// initdb creates a new cluster in c.Dir with a fresh superuser password.
func (c *Cluster) initdb(ctx context.Context) error {
	pw, err := newPassword()
	if err != nil {
		return err
	}
	// initdb reads the password from a file; it must be readable by the server's user, and
	// it cannot live in the data directory, which initdb wants empty.
	pwf, err := os.CreateTemp(filepath.Dir(c.Dir), "."+filepath.Base(c.Dir)+".pwfile-*")
	if err != nil {
		return fmt.Errorf("write initdb password file: %w", err)
	}
	defer os.Remove(pwf.Name())
	_, err = io.WriteString(pwf, pw+"\n")
	if cerr := pwf.Close(); err == nil {
		err = cerr
	}
	if err == nil && c.user.switched() {
		err = os.Chown(pwf.Name(), c.user.uid, c.user.gid)
	}
	if err != nil {
		return fmt.Errorf("write initdb password file: %w", err)
	}
	c.logger.Info("creating postgres cluster", "dir", c.Dir)
	cmd := c.user.command(ctx, filepath.Join(c.bindir, "initdb"),
		"-D", c.Dir, "-U", superuser, "--pwfile="+pwf.Name(), "--auth=scram-sha-256",
		"--encoding=UTF8", "--locale=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb %s: %w: %s", c.Dir, err, lastLine(out))
	}
	if err := c.user.writeFile(filepath.Join(c.Dir, passwordFile), []byte(pw+"\n")); err != nil {
		return fmt.Errorf("write postgres password file: %w", err)
	}
	return nil
}

// start runs the server with pg_ctl. With port 0 it picks a free port, and picks another
// if that one is taken before the server binds it. A postmaster that a crash left behind
// may hold shared memory for a moment; start retries then.
func (c *Cluster) start(ctx context.Context, port int, settings map[string]string) error {
	for attempt := 1; ; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = freePort(); err != nil {
				return err
			}
		}
		offset := fileSize(c.LogFile())
		opts, err := serverOptions(p, settings)
		if err != nil {
			return err
		}
		out, err := c.pgctl(ctx, "start", "-w", "-t", "120", "-D", c.Dir, "-l", c.LogFile(), "-o", opts)
		if err == nil {
			c.Port, c.owned = p, true
			c.logger.Info("started postgres", "dir", c.Dir, "port", p)
			return nil
		}
		detail, logged := serverError(c.LogFile(), offset, out)
		if attached, aerr := c.attach(ctx); aerr == nil && attached {
			return nil // another process started it meanwhile
		}
		retry := strings.Contains(logged, "is still in use") ||
			(port == 0 && strings.Contains(logged, "Address already in use"))
		if !retry || attempt >= 10 || ctx.Err() != nil {
			return fmt.Errorf("start postgres in %s on port %d: %w: %s (log: %s)", c.Dir, p, err, detail, c.LogFile())
		}
		c.logger.Info("retrying postgres start", "dir", c.Dir, "reason", detail)
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

// pgctl runs pg_ctl and returns its combined output.
func (c *Cluster) pgctl(ctx context.Context, args ...string) ([]byte, error) {
	return c.user.command(ctx, filepath.Join(c.bindir, "pg_ctl"), args...).CombinedOutput()
}

// serverOptions builds the postgres command line that pg_ctl passes through /bin/sh: TCP on
// loopback only, unix sockets off (their paths are limited to 107 bytes), then settings.
func serverOptions(port int, settings map[string]string) (string, error) {
	opts := []string{
		"-c listen_addresses=127.0.0.1",
		"-c port=" + strconv.Itoa(port),
		"-c unix_socket_directories=''",
	}
	names := make([]string, 0, len(settings))
	for name := range settings {
		if !validSettingName(name) {
			return "", fmt.Errorf("start postgres: invalid setting name %q", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		opts = append(opts, "-c "+shellQuote(name+"="+settings[name]))
	}
	return strings.Join(opts, " "), nil
}

// validSettingName reports whether name looks like a server setting (letters, digits, "_"
// and "." for extension settings).
func validSettingName(name string) bool {
	for i, r := range name {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return name != ""
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ensureDatabase creates the database "paylent" unless it exists. The server may have
// just started, so the first connection is retried for a few seconds.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var conn *pgx.Conn
	var err error
	for {
		if conn, err = pgx.Connect(ctx, c.URL("postgres")); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to postgres on port %d: %w", c.Port, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", database, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{database}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return nil // created concurrently by another process
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", database, err)
	}
	c.logger.Info("created database", "database", database)
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago, below the
// kernel's ephemeral range (internal/ports).
func freePort() (int, error) { return ports.Free() }

// fileSize returns the size of path, or 0.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// serverError reads what the server logged after offset and picks the most telling line
// about a failed start: the last FATAL or PANIC, else pg_ctl's last line.
func serverError(logPath string, offset int64, pgctlOut []byte) (detail, logged string) {
	if f, err := os.Open(logPath); err == nil {
		defer f.Close()
		if _, err := f.Seek(offset, io.SeekStart); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
			logged = string(b)
		}
	}
	lines := strings.Split(logged, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "FATAL:") || strings.Contains(lines[i], "PANIC:") {
			return strings.TrimSpace(lines[i]), logged
		}
	}
	return lastLine(pgctlOut), logged
}

// lastLine returns the last non-empty line of out.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
