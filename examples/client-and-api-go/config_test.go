package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	dotenv := filepath.Join(t.TempDir(), ".env")
	err := os.WriteFile(dotenv, []byte(`# the app's credentials
CLIENT_ID=from-file
export CLIENT_SECRET="s3cret"
API_ADDR='127.0.0.1:4200'
NATS_URL=
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CLIENT_ID": "from-env", "CLIENT_ADDR": ":3300"}
	cfg, err := loadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, dotenv)
	if err != nil {
		t.Fatal(err)
	}
	want := config{Issuer: "http://examples-dev.localhost:4000", ClientID: "from-env", ClientSecret: "s3cret",
		ClientAddr: ":3300", ClientURL: "http://localhost:3300", APIAddr: "127.0.0.1:4200", APIURL: "http://localhost:4200",
		APIIdentifier: "http://localhost:4200", NATSURL: "nats://127.0.0.1:4222"}
	if cfg != want {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}

	// Every problem at once; no .env file is fine.
	env = map[string]string{"PAYLENT_ISSUER": "http://localhost:4000", "CLIENT_URL": "localhost:3000"}
	_, err = loadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, filepath.Join(t.TempDir(), ".env"))
	for _, want := range []string{"CLIENT_ID and CLIENT_SECRET are required", "CLIENT_URL must be", "does not name an environment"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}

	if err := os.WriteFile(dotenv, []byte("not a variable\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(func(string) (string, bool) { return "", false }, dotenv); err == nil || !strings.Contains(err.Error(), ":1: want KEY=VALUE") {
		t.Errorf("bad .env: %v", err)
	}
}

func TestIsLocalhost(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "examples-dev.localhost": true, "EXAMPLES-DEV.LOCALHOST.": true,
		"localhost.example.com": false, "notlocalhost": false, "127.0.0.1": false} {
		if got := isLocalhost(host); got != want {
			t.Errorf("isLocalhost(%q) = %t", host, got)
		}
	}
}
