package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/internal/natsserver"
	"github.com/paylent/paylent/internal/pgcluster"
	"github.com/paylent/paylent/migrations"
)

// bench is the private infrastructure of one run: a PostgreSQL cluster with the server's
// default (durable) settings and an embedded NATS server, both under a temporary directory.
type bench struct {
	dir     string
	cluster *pgcluster.Cluster
	nats    *natsserver.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	log     *slog.Logger
}

// startBench starts the infrastructure. Starting is not interrupted half-way (a cluster
// whose pg_ctl was killed could outlive us); a cancelled ctx is noticed right after.
func startBench(ctx context.Context, log *slog.Logger) (_ *bench, err error) {
	dir, err := os.MkdirTemp("", "paylent-bench-*")
	if err != nil {
		return nil, err
	}
	b := &bench{dir: dir, log: log}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	// The postgres OS user (we may be root) must be able to reach the cluster directory.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	log.Info("starting PostgreSQL", "dir", dir)
	b.cluster, err = pgcluster.Start(context.WithoutCancel(ctx), pgcluster.Options{Dir: filepath.Join(dir, "pg")})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.nats, err = natsserver.Start(natsserver.Options{StoreDir: filepath.Join(dir, "nats"), Logger: log})
	if err != nil {
		return nil, err
	}
	if b.nc, err = nats.Connect(b.nats.ClientURL(), nats.Name("paylent-bench")); err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	// The same client options as cmd/paylent (infra.go).
	b.js, err = jetstream.New(b.nc, jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return b, ctx.Err()
}

// close stops everything startBench started and removes the temporary directory.
func (b *bench) close() {
	if b.nc != nil {
		b.nc.Close()
	}
	if b.nats != nil {
		b.nats.Shutdown()
	}
	if b.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := b.cluster.Stop(ctx); err != nil {
			b.log.Error("stop PostgreSQL; remove the directory by hand once it is stopped", "dir", b.dir, "err", err)
			return
		}
	}
	if err := os.RemoveAll(b.dir); err != nil {
		b.log.Error("remove temporary directory", "dir", b.dir, "err", err)
	}
}

// database creates and migrates a database and returns a pool of up to maxConns over it.
func (b *bench) database(ctx context.Context, name string, maxConns int32) (*pgxpool.Pool, error) {
	conn, err := pgx.Connect(ctx, b.cluster.URL("postgres"))
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	url := b.cluster.URL(name)
	if err := migrations.Up(ctx, url, nil); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxConns
	return pgxpool.NewWithConfig(ctx, cfg)
}

// machine describes where the numbers were measured.
type machine struct {
	CPUs               int    `json:"cpus"`
	CPUModel           string `json:"cpu_model"`
	Memory             string `json:"memory"`
	Kernel             string `json:"kernel"`
	Disk               string `json:"disk"`
	PostgreSQL         string `json:"postgresql"`
	PostgresDurability string `json:"postgresql_durability"`
	NATS               string `json:"nats_server"`
	Go                 string `json:"go"`
	Date               string `json:"date"`
}

func (b *bench) describe(ctx context.Context, pool *pgxpool.Pool) machine {
	m := machine{
		CPUs:     runtime.NumCPU(),
		CPUModel: procField("/proc/cpuinfo", "model name"),
		Memory:   "unknown",
		Kernel:   strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		Disk:     diskOf(b.dir),
		NATS:     b.nc.ConnectedServerVersion(),
		Go:       runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Date:     time.Now().UTC().Format("2006-01-02 15:04 UTC"),
	}
	if kb, err := strconv.ParseFloat(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 64); err == nil && kb > 0 {
		m.Memory = fmt.Sprintf("%.0f GiB", kb/(1<<20))
	}
	var fsync, sync, method string
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('wal_sync_method')`).Scan(&m.PostgreSQL, &fsync, &sync, &method)
	if err == nil {
		m.PostgresDurability = fmt.Sprintf("fsync=%s, synchronous_commit=%s, wal_sync_method=%s", fsync, sync, method)
	}
	return m
}

// procField returns the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return string(b)
}

// diskOf names the block device and file system that hold dir, as /proc/self/mountinfo and
// /sys/block tell (a virtual machine's "rotational" flag says little about the real disk).
func diskOf(dir string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "unknown disk"
	}
	defer f.Close()
	var best, fstype, source string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		mnt := fields[4]
		if (dir == mnt || strings.HasPrefix(dir, strings.TrimSuffix(mnt, "/")+"/")) && len(mnt) >= len(best) {
			best, fstype, source = mnt, tail[0], tail[1]
		}
	}
	if best == "" {
		return "unknown disk"
	}
	desc := fmt.Sprintf("%s on %s", fstype, source)
	dev := filepath.Base(source)
	if rot := strings.TrimSpace(readFile("/sys/block/" + dev + "/queue/rotational")); rot == "0" || rot == "1" {
		desc += map[string]string{"0": " (non-rotational)", "1": " (reports rotational)"}[rot]
	}
	return desc
}

// fsyncProbe measures write + fdatasync of 8 KiB blocks to one file in dir for d: what a
// single-writer commit costs at best (PostgreSQL's WAL flush on Linux is an fdatasync).
func fsyncProbe(ctx context.Context, dir string, d time.Duration) (result, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 8<<10)
	const blocks = 256 // rewrite a 2 MiB file, as WAL segments are rewritten in place
	if _, err := f.Write(make([]byte, blocks*len(block))); err != nil {
		return result{}, err
	}
	if err := f.Sync(); err != nil {
		return result{}, err
	}
	var ops int64
	start := time.Now()
	for time.Since(start) < d {
		if err := ctx.Err(); err != nil {
			return result{}, err
		}
		if _, err := f.WriteAt(block, (ops%blocks)*int64(len(block))); err != nil {
			return result{}, err
		}
		if err := fdatasync(f); err != nil {
			return result{}, err
		}
		ops++
	}
	r := newResult("disk write+fdatasync 8 KiB x1", ops, time.Since(start))
	r.IsCeiling = true
	if ops == 0 {
		return r, errors.New("fsync probe made no progress")
	}
	return r, nil
}
