package main

import "testing"

// The embedded default is a laptop's: it listens on loopback unless told otherwise; a server
// on shared infrastructure listens on every interface.
func TestDefaultListenAddress(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"embedded default", nil, "127.0.0.1:4000"},
		{"embedded, told otherwise", map[string]string{"PAYLENT_HTTP_ADDR": ":4000"}, ":4000"},
		{"shared infrastructure", map[string]string{"DATABASE_URL": "postgres://db/paylent"}, ":4000"},
		{"shared, told otherwise", map[string]string{"DATABASE_URL": "postgres://db/paylent", "PAYLENT_HTTP_ADDR": "10.0.0.1:80"}, "10.0.0.1:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LoadConfig(func(k string) string { return tc.env[k] }).HTTPAddr; got != tc.want {
				t.Errorf("HTTPAddr = %q, want %q", got, tc.want)
			}
		})
	}
}
