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
