package oauth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/paylent/paylent/domain/oauth"
)

func TestParseScopes(t *testing.T) {
	got, err := oauth.ParseScopes("openid read:documents openid profile")
	if err != nil || got.String() != "openid profile read:documents" {
		t.Fatalf("%q %v", got, err)
	}
	if s, _ := oauth.ParseScopes(""); s != nil {
		t.Errorf("empty: %v", s)
	}
	for _, bad := range []string{" openid", "openid ", "openid  profile", "a\"b", "a\\b", "é", strings.Repeat("a", 101), "a\tb"} {
		if _, err := oauth.ParseScopes(bad); !errors.Is(err, oauth.ErrInvalidScope) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if missing, ok := oauth.NewScopes("a", "b").SubsetOf(oauth.NewScopes("b", "c")); ok || missing != "a" {
		t.Errorf("SubsetOf: %q %v", missing, ok)
	}
	if oauth.NewScopes("openid", "x").Without("openid").String() != "x" {
		t.Error("Without")
	}
}

func TestErrorsAreCopies(t *testing.T) {
	e := oauth.ErrInvalidGrant.WithDescription("code expired").WithCause(errors.New("secret cause"))
	if oauth.ErrInvalidGrant.Description == "code expired" || !errors.Is(e, oauth.ErrInvalidGrant) || errors.Is(e, oauth.ErrInvalidClient) {
		t.Error("With methods must copy and Is must match by code")
	}
	if !strings.Contains(e.Error(), "secret cause") || strings.Contains(e.Description, "secret") {
		t.Error("the cause is for logs only")
	}
}

func TestValidateRedirectURI(t *testing.T) {
	good := []string{"https://app.example.com/cb", "https://app.example.com/cb?x=1", "http://localhost:3000/callback",
		"http://127.0.0.1:8080/cb", "http://[::1]/cb", "com.example.app:/oauth", "http://app.localhost/cb"}
	for _, u := range good {
		if msg := oauth.ValidateRedirectURI(u); msg != "" {
			t.Errorf("%s: %s", u, msg)
		}
	}
	bad := []string{"", "/cb", "https://app.example.com/cb#frag", "https://u:p@app.example.com/cb", "http://example.com/cb",
		"javascript:alert(1)", "data:text/html,x", "myapp:/cb", "https:///cb", "file:///etc/passwd", "http://localhost.evil.com/cb"}
	for _, u := range bad {
		if msg := oauth.ValidateRedirectURI(u); msg == "" {
			t.Errorf("%s accepted", u)
		}
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"openid profile", "read:documents write:documents", " x", "a  b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := oauth.ParseScopes(s)
		if err != nil {
			return
		}
		again, err := oauth.ParseScopes(got.String())
		if err != nil || again.String() != got.String() {
			t.Fatalf("%q → %q → %q %v", s, got, again, err)
		}
		for _, n := range got {
			if strings.ContainsAny(n, " \"\\") {
				t.Fatalf("%q kept %q", s, n)
			}
		}
	})
}

func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://localhost/cb", "com.example.app:/cb", "javascript:x", "http://[::1]:80/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if oauth.ValidateRedirectURI(s) != "" {
			return
		}
		if strings.Contains(s, "#") {
			t.Fatalf("accepted a fragment: %q", s)
		}
		low := strings.ToLower(s)
		if strings.HasPrefix(low, "javascript:") || strings.HasPrefix(low, "data:") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestMatchRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		registered, given string
		want              bool
	}{
		{"https://app.example.com/cb", "https://app.example.com/cb", true},
		{"https://app.example.com/cb", "https://app.example.com/cb/", false},
		{"https://app.example.com:8443/cb", "https://app.example.com:9443/cb", false},
		{"http://127.0.0.1/callback", "http://127.0.0.1:51004/callback", true},
		{"http://127.0.0.1:8080/callback", "http://127.0.0.1:51004/callback", true},
		{"http://[::1]/callback", "http://[::1]:51004/callback", true},
		{"http://127.0.0.1/callback", "http://127.0.0.1:51004/callback?x=1", false},
		{"http://127.0.0.1/callback", "http://127.0.0.1:51004/other", false},
		{"http://127.0.0.1/callback", "http://127.0.0.2:51004/callback", false},
		{"http://127.0.0.1/callback", "http://127.0.0.1:99999/callback", false},
		{"http://127.0.0.1/callback", "http://127.0.0.1:51004/callback#frag", false},
		{"http://127.0.0.1/callback", "http://user@127.0.0.1:51004/callback", false},
		{"http://127.0.0.1/callback", "https://127.0.0.1:51004/callback", false},
		{"http://localhost:3000/callback", "http://localhost:3001/callback", false},
		{"http://10.0.0.1/callback", "http://10.0.0.1:8080/callback", false},
	} {
		if got := oauth.MatchRedirectURI(tc.registered, tc.given); got != tc.want {
			t.Errorf("MatchRedirectURI(%q, %q) = %v", tc.registered, tc.given, got)
		}
	}
}
