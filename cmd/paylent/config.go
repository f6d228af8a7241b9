package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Config is everything Paylent reads from its environment, loaded once here; no other
// package calls os.Getenv.
type Config struct {
	HTTPAddr     string // PAYLENT_HTTP_ADDR
	PublicDomain string // PAYLENT_PUBLIC_DOMAIN
	PublicScheme string // PAYLENT_PUBLIC_SCHEME
	DataDir      string // PAYLENT_DATA_DIR
	DatabaseURL  string // DATABASE_URL; empty: the private cluster under DataDir
	NATSURL      string // NATS_URL; empty: the embedded server
	NATSListen   string // PAYLENT_NATS_LISTEN (embedded server only)
	// NATS identities with a shared NATS (the embedded server makes its own): credentials
	// files, each an nkey seed or a .creds file (user JWT and seed).
	NATSCreds      string // NATS_CREDS: the instance's identity (projections, rate limits)
	NATSRelayCreds string // PAYLENT_NATS_RELAY_CREDS: the relay's identity; default NATS_CREDS
	NATSCA         string // NATS_CA: PEM CA certificates that sign a tls:// NATS server's certificate
	MasterKey      string // PAYLENT_MASTER_KEY
	SMTPURL        string // PAYLENT_SMTP_URL
	RateLimits     string // PAYLENT_RATE_LIMITS: on (default) or off
	LogLevel       string // PAYLENT_LOG_LEVEL: debug, info (default), warn, error
	// MetricsAddr is where GET /metrics (Prometheus) listens, on a listener of its own;
	// empty (the default) serves no metrics.
	MetricsAddr string // PAYLENT_METRICS_ADDR, e.g. 127.0.0.1:9464
	// OTLPEndpoint is the OpenTelemetry collector traces are exported to over OTLP/HTTP
	// (spans go to <endpoint>/v1/traces); empty (the default) records no spans.
	OTLPEndpoint string // OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4318
	// NATSReplicas: copies of PAYLENT_EVENTS and the rate-limit bucket in a NATS cluster,
	// 1 to 5, or auto (default): the cluster's size, at most 3 (workers.AutoReplicas).
	NATSReplicas string // PAYLENT_NATS_REPLICAS
	// KeyPool is how many RSA signing keys `serve` generates ahead of need, with one core
	// at most, so that creating an environment does not wait for one (default 64, about
	// 2 KiB each; 0 generates each key when it is needed).
	KeyPool string // PAYLENT_KEY_POOL
	// PasswordRehash: a sign-in against a password hash of older Argon2id parameters renews
	// it (user.password_rehashed), on or off; default on for the embedded default (one
	// instance) and off with shared infrastructure, until every instance of a rolling upgrade
	// can read that event (docs/DEPLOYMENT.md, "New event types come last").
	PasswordRehash string // PAYLENT_PASSWORD_REHASH
}

// PasswordRehashOn reports whether sign-ins renew hashes of older parameters.
func (c Config) PasswordRehashOn() bool { return c.PasswordRehash == "on" }

// KeyPoolSize is KeyPool as a number (0 when it does not parse: Validate reports it).
func (c Config) KeyPoolSize() int {
	n, err := strconv.Atoi(c.KeyPool)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Embedded reports whether this instance runs its own private database (the laptop
// default): only then does it seed the demo account and keep its master key on disk.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// RateLimitsOn reports whether rate limits are enforced.
func (c Config) RateLimitsOn() bool { return c.RateLimits != "off" }

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv func(string) string) Config {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	// The embedded default (no DATABASE_URL) is a laptop's: it listens on loopback only,
	// unless told otherwise. With shared infrastructure it listens on every interface.
	httpAddr, rehash := ":4000", "off"
	if strings.TrimSpace(getenv("DATABASE_URL")) == "" {
		httpAddr, rehash = "127.0.0.1:4000", "on"
	}
	return Config{
		HTTPAddr:       get("PAYLENT_HTTP_ADDR", httpAddr),
		PublicDomain:   strings.ToLower(get("PAYLENT_PUBLIC_DOMAIN", "localhost:4000")),
		PublicScheme:   get("PAYLENT_PUBLIC_SCHEME", "http"),
		DataDir:        get("PAYLENT_DATA_DIR", "./.paylent"),
		DatabaseURL:    get("DATABASE_URL", ""),
		NATSURL:        get("NATS_URL", ""),
		NATSListen:     get("PAYLENT_NATS_LISTEN", "127.0.0.1:4222"),
		NATSCreds:      get("NATS_CREDS", ""),
		NATSRelayCreds: get("PAYLENT_NATS_RELAY_CREDS", ""),
		NATSCA:         get("NATS_CA", ""),
		NATSReplicas:   get("PAYLENT_NATS_REPLICAS", "auto"),
		MasterKey:      get("PAYLENT_MASTER_KEY", ""),
		SMTPURL:        get("PAYLENT_SMTP_URL", ""),
		RateLimits:     get("PAYLENT_RATE_LIMITS", "on"),
		LogLevel:       get("PAYLENT_LOG_LEVEL", "info"),
		MetricsAddr:    get("PAYLENT_METRICS_ADDR", ""),
		OTLPEndpoint:   get("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
		KeyPool:        get("PAYLENT_KEY_POOL", "64"),
		PasswordRehash: get("PAYLENT_PASSWORD_REHASH", rehash),
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("PAYLENT_HTTP_ADDR %q: want host:port or :port", c.HTTPAddr))
	}
	if c.PublicDomain == "" || strings.ContainsAny(c.PublicDomain, "/ @") || strings.HasPrefix(c.PublicDomain, ".") {
		errs = append(errs, fmt.Errorf("PAYLENT_PUBLIC_DOMAIN %q: want a host name with an optional port, e.g. localhost:4000", c.PublicDomain))
	}
	if c.PublicScheme != "http" && c.PublicScheme != "https" {
		errs = append(errs, fmt.Errorf("PAYLENT_PUBLIC_SCHEME %q: want http or https", c.PublicScheme))
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("DATABASE_URL: want a postgres:// URL"))
		}
	}
	errs = append(errs, c.validateNATS()...)
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
			errs = append(errs, errors.New("PAYLENT_SMTP_URL: want smtp://[user:password@]host[:port]"))
		}
	}
	if !c.Embedded() && c.MasterKey == "" {
		errs = append(errs, errors.New("PAYLENT_MASTER_KEY: required with shared infrastructure (every instance needs the same key)"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("PAYLENT_LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel))
	}
	if n, err := strconv.Atoi(c.KeyPool); err != nil || n < 0 || n > 100_000 {
		errs = append(errs, fmt.Errorf("PAYLENT_KEY_POOL %q: want a number of keys from 0 to 100000", c.KeyPool))
	}
	if c.RateLimits != "on" && c.RateLimits != "off" {
		errs = append(errs, fmt.Errorf("PAYLENT_RATE_LIMITS %q: want on or off", c.RateLimits))
	}
	if c.PasswordRehash != "on" && c.PasswordRehash != "off" {
		errs = append(errs, fmt.Errorf("PAYLENT_PASSWORD_REHASH %q: want on or off", c.PasswordRehash))
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("OTEL_EXPORTER_OTLP_ENDPOINT: want an http:// or https:// URL, e.g. http://127.0.0.1:4318"))
		}
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || !validPort(port) {
			errs = append(errs, fmt.Errorf("PAYLENT_METRICS_ADDR %q: want host:port, e.g. 127.0.0.1:9464", c.MetricsAddr))
		} else if c.MetricsAddr == c.HTTPAddr {
			errs = append(errs, errors.New("PAYLENT_METRICS_ADDR: must differ from PAYLENT_HTTP_ADDR (metrics have a listener of their own)"))
		}
	}
	return errors.Join(errs...)
}

// validateNATS checks NATS_URL and how the NATS identities are given. The files are read
// when NATS is opened (commands that do not use NATS do not need them).
func (c Config) validateNATS() []error {
	var errs []error
	if _, err := c.natsReplicas(); err != nil {
		errs = append(errs, err)
	}
	if c.NATSURL == "" {
		if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
			errs = append(errs, fmt.Errorf("PAYLENT_NATS_LISTEN %q: want host:port", c.NATSListen))
		}
		for _, v := range []struct{ name, val string }{{"NATS_CREDS", c.NATSCreds},
			{"PAYLENT_NATS_RELAY_CREDS", c.NATSRelayCreds}, {"NATS_CA", c.NATSCA}} {
			if v.val != "" {
				errs = append(errs, fmt.Errorf("%s: only with NATS_URL (the embedded server keeps its credentials under PAYLENT_DATA_DIR/nats/credentials)", v.name))
			}
		}
		return errs
	}
	for _, raw := range strings.Split(c.NATSURL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" || !validNATSScheme(u.Scheme) {
			errs = append(errs, errors.New("NATS_URL: want nats://host:port or tls://host:port, comma-separated for a cluster"))
			break
		}
		if u.User != nil {
			errs = append(errs, errors.New("NATS_URL: put credentials in NATS_CREDS, not in the URL"))
			break
		}
	}
	if c.NATSRelayCreds != "" && c.NATSCreds == "" {
		errs = append(errs, errors.New("PAYLENT_NATS_RELAY_CREDS: set NATS_CREDS too (the instance's own identity)"))
	}
	return errs
}

// natsReplicas is PAYLENT_NATS_REPLICAS as a count; 0 is automatic.
func (c Config) natsReplicas() (int, error) {
	if c.NATSReplicas == "auto" || c.NATSReplicas == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(c.NATSReplicas)
	if err != nil || n < 1 || n > 5 {
		return 0, fmt.Errorf("PAYLENT_NATS_REPLICAS %q: want auto or 1 to 5", c.NATSReplicas)
	}
	return n, nil
}

// NATSReplicaCount is PAYLENT_NATS_REPLICAS as a count, 0 for automatic (Validate reports
// a bad value).
func (c Config) NATSReplicaCount() int {
	n, _ := c.natsReplicas()
	return n
}

// validPort is a port number (0 picks a free one).
func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

func validNATSScheme(s string) bool {
	return s == "nats" || s == "tls" || s == "ws" || s == "wss"
}
