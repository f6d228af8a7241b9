package pgcluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// superuser is the cluster's superuser role, created by initdb.
	superuser = "paylent"
	// database is the database Start makes sure exists.
	database = "paylent"
	// passwordFile holds the superuser's password, inside the data directory.
	passwordFile = "paylent.password"
	// logFile receives the server's log, inside the data directory.
	logFile = "postgres.log"
	// attachTimeout bounds the wait for a cluster that another process is starting.
	attachTimeout = 60 * time.Second
)

// Options configure Start.
type Options struct {
	// Dir is the cluster's data directory; it is created and initialised when empty.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Settings are extra server settings (postgres -c name=value), e.g. "fsync": "off".
	Settings map[string]string
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Cluster is a PostgreSQL cluster running from a data directory on this machine.
type Cluster struct {
	Dir      string // data directory
	Port     int    // TCP port on 127.0.0.1
	Password string // password of the superuser "paylent"

	owned  bool
	bindir string
	user   *osUser
	logger *slog.Logger
}

// URL returns the connection URL of database on the cluster, as the superuser.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(superuser, c.Password),
		Host:     "127.0.0.1:" + strconv.Itoa(c.Port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Owned reports whether this Cluster started the server (and Stop stops it). It is false
// when Start found the cluster already running in another process and attached to it.
func (c *Cluster) Owned() bool { return c.owned }

// LogFile returns the path of the server's log file.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, logFile) }

// LogValue keeps the password out of logs.
func (c *Cluster) LogValue() slog.Value {
	return slog.GroupValue(slog.String("dir", c.Dir), slog.Int("port", c.Port), slog.Bool("owned", c.owned))
}

// Start runs the cluster in opts.Dir, creating it first if the directory holds none, and
// makes sure its database "paylent" exists. If the cluster is already running (another
// process started it), Start attaches to it instead: the result is not Owned.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("start postgres cluster: no data directory given")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve postgres data directory: %w", err)
	}
	bindir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	u, err := lookupOSUser()
	if err != nil {
		return nil, err
	}
	if err := u.prepareDir(dir); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{Dir: dir, bindir: bindir, user: u, logger: logger}
	if attached, err := c.attach(ctx); err != nil || attached {
		if err != nil {
			return nil, err
		}
		return c, c.ensureDatabase(ctx)
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}
	if c.Password, err = readPassword(dir); err != nil {
		return nil, err
	}
	if u.switched() {
		if err := u.chownTree(dir); err != nil {
			return nil, err
		}
	}
	if err := c.start(ctx, opts.Port, opts.Settings); err != nil {
		return nil, err
	}
	if err := c.ensureDatabase(ctx); err != nil {
		if c.owned {
			_ = c.Stop(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return c, nil
}

// attach looks for a server already running in c.Dir. When one is (or is starting), it
// waits until it is ready and points c at it. A stale postmaster.pid is removed.
func (c *Cluster) attach(ctx context.Context) (bool, error) {
	deadline := time.Now().Add(attachTimeout)
	for {
		pf, found, err := readPidFile(c.Dir)
		if err != nil || !found {
			return false, err
		}
		if !processAlive(pf.pid) {
			c.logger.Info("removing stale postmaster.pid", "dir", c.Dir, "pid", pf.pid)
			if err := os.Remove(filepath.Join(c.Dir, "postmaster.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("remove stale postmaster.pid: %w", err)
			}
			return false, nil
		}
		if pf.status == "ready" && pf.port > 0 {
			if c.Password, err = readPassword(c.Dir); err != nil {
				return false, err
			}
			c.Port, c.owned = pf.port, false
			c.logger.Info("attached to running postgres", "dir", c.Dir, "port", c.Port, "pid", pf.pid)
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("attach to postgres in %s: pid %d is still %q after %v", c.Dir, pf.pid, pf.status, attachTimeout)
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("attach to postgres in %s: %w", c.Dir, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop shuts the server down (fast mode: clients are disconnected, no data is lost) when
// this Cluster owns it. Stopping a server that is not running is not an error.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.owned {
		return nil
	}
	pf, found, err := readPidFile(c.Dir)
	if err != nil {
		return fmt.Errorf("stop postgres in %s: %w", c.Dir, err)
	}
	if !found || !processAlive(pf.pid) {
		return nil
	}
	out, err := c.pgctl(ctx, "stop", "-D", c.Dir, "-m", "fast", "-w", "-t", "120")
	if err != nil {
		if pf, found, _ := readPidFile(c.Dir); !found || !processAlive(pf.pid) {
			return nil
		}
		return fmt.Errorf("stop postgres in %s: %w: %s", c.Dir, err, lastLine(out))
	}
	c.logger.Info("stopped postgres", "dir", c.Dir, "port", c.Port)
	return nil
}

// newPassword returns a random password that needs no escaping in a URL.
func newPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate postgres password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// readPassword reads the superuser password that initdb was given.
func readPassword(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, passwordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read postgres password: %s has a cluster but no %s; remove the directory to create a new cluster", dir, passwordFile)
	}
	if err != nil {
		return "", fmt.Errorf("read postgres password: %w", err)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("read postgres password: %s is empty", filepath.Join(dir, passwordFile))
	}
	return pw, nil
}
