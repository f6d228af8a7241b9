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

// Renewing password hashes writes an event the previous release cannot read: it is on where
// one instance owns its log (the embedded default) and off on shared infrastructure until an
// operator switches it on after a rollout; anything but on or off is refused.
func TestPasswordRehashDefault(t *testing.T) {
	shared := "postgres://db/paylent"
	for _, tc := range []struct {
		name  string
		env   map[string]string
		want  bool
		valid bool
	}{
		{"embedded default", nil, true, true},
		{"embedded, off", map[string]string{"PAYLENT_PASSWORD_REHASH": "off"}, false, true},
		{"shared infrastructure", map[string]string{"DATABASE_URL": shared}, false, true},
		{"shared, switched on", map[string]string{"DATABASE_URL": shared, "PAYLENT_PASSWORD_REHASH": "on"}, true, true},
		{"a typo", map[string]string{"PAYLENT_PASSWORD_REHASH": "yes"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"PAYLENT_MASTER_KEY": "k"}
			for k, v := range tc.env {
				env[k] = v
			}
			c := LoadConfig(func(k string) string { return env[k] })
			if c.PasswordRehashOn() != tc.want {
				t.Errorf("on = %v, want %v", c.PasswordRehashOn(), tc.want)
			}
			if err := c.Validate(); (err == nil) != tc.valid {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}
