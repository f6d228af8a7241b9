package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// newHTTPClient is the client both servers use to talk to Paylent (and the web app to the
// API).
//
// Paylent's development issuers are http://<environment>.localhost:4000. Browsers resolve
// every *.localhost name to the loopback interface by themselves (RFC 6761 §6.3), but Go's
// resolver asks the system, which usually knows only "localhost" itself. So this transport
// dials localhost and *.localhost hosts on 127.0.0.1 (keeping the port), and everything
// else normally. The URL and the Host header are unchanged, so Paylent still sees which
// environment is meant, and the issuer in discovery and tokens still matches.
func newHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = func(r *http.Request) (*url.URL, error) {
		if isLocalhost(r.URL.Hostname()) {
			return nil, nil // never send loopback traffic to a proxy
		}
		return http.ProxyFromEnvironment(r)
	}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && isLocalhost(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: 15 * time.Second, Transport: transport}
}

// isLocalhost reports whether host is localhost or a name under it.
func isLocalhost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
