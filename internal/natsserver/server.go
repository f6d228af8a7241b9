package natsserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds the wait for the server to accept clients.
const readyTimeout = 10 * time.Second

// Options configure Start.
type Options struct {
	// Listen is the client address, host:port. Empty, or port -1 or 0, picks a free
	// port (on 127.0.0.1 when Listen is empty).
	Listen string
	// StoreDir holds the JetStream file store; it is created if missing.
	StoreDir string
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
	// Credentials, when set, are the only identities the server accepts, each with its
	// role's permissions; anonymous connections are refused. Nil accepts anyone with every
	// right (tests of other packages, the benchmarks).
	Credentials *Credentials
}

// Server is a running embedded NATS server.
type Server struct {
	ns       *server.Server
	host     string // as configured
	port     int    // as listened on
	storeDir string
	creds    *Credentials
}

// Start runs a NATS server with JetStream and returns once it accepts clients.
func Start(opts Options) (*Server, error) {
	host, port, err := parseListen(opts.Listen)
	if err != nil {
		return nil, err
	}
	if opts.StoreDir == "" {
		return nil, errors.New("start nats server: no store directory given")
	}
	if err := os.MkdirAll(opts.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("create nats store directory: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sopts := &server.Options{
		ServerName:             "paylent",
		Host:                   host,
		Port:                   port,
		JetStream:              true,
		StoreDir:               opts.StoreDir,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
	}
	if c := opts.Credentials; c != nil {
		for _, r := range Roles {
			sopts.Nkeys = append(sopts.Nkeys, &server.NkeyUser{Nkey: c.PublicKey(r), Permissions: r.Permissions()})
		}
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("configure nats server: %w", err)
	}
	fatal := make(chan string, 1)
	ns.SetLoggerV2(&logAdapter{logger: logger.With("component", "nats"), fatal: fatal}, false, false, false)
	ns.Start()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	for deadline := time.Now().Add(readyTimeout); ; {
		select {
		case msg := <-fatal:
			ns.Shutdown()
			ns.WaitForShutdown()
			if strings.Contains(msg, "address already in use") {
				return nil, fmt.Errorf("start nats server: listen address %s is already in use (is another NATS server or paylent running?)", addr)
			}
			return nil, fmt.Errorf("start nats server on %s: %s", addr, msg)
		default:
		}
		if ns.ReadyForConnections(50 * time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, fmt.Errorf("start nats server on %s: not ready for connections after %v", addr, readyTimeout)
		}
	}
	s := &Server{ns: ns, host: host, storeDir: opts.StoreDir, creds: opts.Credentials}
	if a, ok := ns.Addr().(*net.TCPAddr); ok {
		s.port = a.Port
	}
	return s, nil
}

// parseListen splits a listen address into the host and port nats-server expects.
func parseListen(listen string) (string, int, error) {
	if listen == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("parse nats listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("parse nats listen address %q: invalid port", listen)
	}
	if port <= 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default port, 4222
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// ClientURL returns the URL clients connect to, nats://host:port. A server listening on
// every interface is reached on loopback.
func (s *Server) ClientURL() string {
	return "nats://" + s.dialAddr()
}

// Addr returns the listen address with the actual port, host:port; Start on it again
// listens where this server did.
func (s *Server) Addr() string {
	return net.JoinHostPort(s.host, strconv.Itoa(s.port))
}

// Credentials returns the identities the server accepts, nil when it accepts anyone.
func (s *Server) Credentials() *Credentials { return s.creds }

// StoreDir returns the JetStream store directory.
func (s *Server) StoreDir() string { return s.storeDir }

// Shutdown stops the server and waits until it has stopped. It may be called again.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

func (s *Server) dialAddr() string {
	host := s.host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(s.port))
}

// logAdapter passes nats-server's warnings and errors to slog and drops its chatter. A
// fatal error (nats-server would exit) is logged and handed to Start.
type logAdapter struct {
	logger *slog.Logger
	fatal  chan<- string
}

func (l *logAdapter) Noticef(string, ...any) {}
func (l *logAdapter) Debugf(string, ...any)  {}
func (l *logAdapter) Tracef(string, ...any)  {}

func (l *logAdapter) Warnf(format string, v ...any) {
	l.logger.Warn(fmt.Sprintf(format, v...))
}

func (l *logAdapter) Errorf(format string, v ...any) {
	l.logger.Error(fmt.Sprintf(format, v...))
}

func (l *logAdapter) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.logger.Error(msg)
	select {
	case l.fatal <- msg:
	default:
	}
}
