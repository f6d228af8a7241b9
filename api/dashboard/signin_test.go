package dashboard

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/e/acme-test/clients":             "/e/acme-test/clients",
		"/e/acme-test/users?q=ada&after=x": "/e/acme-test/users?q=ada&after=x",
		"/e/acme-test/users?q=a%0d%0ab":    "/e/acme-test/users?q=a%0d%0ab", // still encoded: harmless
		"":                                 "/",
		"/":                                "/",
		"https://evil.example.com/e/":      "/",
		"//evil.example.com/e/":            "/",
		"/\t/evil.example.com":             "/",
		"/e/\t/evil.example.com":           "/",
		"/e/x\r\nSet-Cookie: a=b":          "/",
		"/e/x\\evil":                       "/",
		"/e/../login":                      "/",
		"/e/x\x7f":                         "/",
		"/e/é":                             "/",
		"/login":                           "/",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever comes in, what goes out is "/" or a path under /e/ that a browser cannot read as
// another origin and that cannot split a header.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/e/acme/clients", "/\t/evil", "//evil", "/e/x\r\nX: y", "/e/%2F%2Fevil", "/e/x?return=//evil", "/e/\\\\evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeReturn(in)
		if out == "/" {
			return
		}
		if !strings.HasPrefix(out, "/e/") || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\t\r\n ") {
			t.Fatalf("%q gave %q", in, out)
		}
		u, err := url.Parse(out)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("%q gave %q, which names a host", in, out)
		}
		base, _ := url.Parse("http://dashboard.localhost:4000/")
		if r := base.ResolveReference(u); r.Host != base.Host {
			t.Fatalf("%q resolves to another origin: %s", out, r)
		}
	})
}
