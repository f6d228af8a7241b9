package natsserver

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestStartServesJetStream(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if !strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:") || strings.HasSuffix(s.ClientURL(), ":-1") {
		t.Errorf("ClientURL = %s", s.ClientURL())
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(); err != nil {
		t.Fatalf("JetStream not enabled: %v", err)
	}
}

func TestStartAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	start := time.Now()
	_, err = Start(Options{Listen: addr, StoreDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want one naming %s as in use", err, addr)
	}
	t.Log(err)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to report the error", d)
	}
}

func TestParseListen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{in: "", host: "127.0.0.1", port: -1},
		{in: "127.0.0.1:4222", host: "127.0.0.1", port: 4222},
		{in: "127.0.0.1:-1", host: "127.0.0.1", port: -1},
		{in: "localhost:0", host: "localhost", port: -1},
		{in: ":4222", host: "0.0.0.0", port: 4222},
		{in: "4222", bad: true},
		{in: "x:y", bad: true},
	} {
		host, port, err := parseListen(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseListen(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil || host != tc.host || port != tc.port {
			t.Errorf("parseListen(%q) = %q, %d, %v; want %q, %d", tc.in, host, port, err, tc.host, tc.port)
		}
	}
}

func TestShutdownTwice(t *testing.T) {
	s, err := Start(Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	s.Shutdown()
	if _, err := nats.Connect(s.ClientURL(), nats.NoReconnect()); err == nil {
		t.Error("connected to a shut down server")
	}
}
