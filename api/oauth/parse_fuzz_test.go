package oauth

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paylent/paylent/domain/oauth"
)

func FuzzParseFormBody(f *testing.F) {
	for _, s := range []string{"grant_type=client_credentials&scope=read%3Adocuments", "a=1&a=2", "%zz", "a=%E2%82%AC", "=x&&b", ""} {
		f.Add("application/x-www-form-urlencoded", s)
	}
	f.Add("application/x-www-form-urlencoded; charset=UTF-8", "code=abc")
	f.Add("application/json", "{}")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		got, err := parseFormBody(ctype, body, false)
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != "invalid_request" || !utf8.ValidString(oe.Description) {
				t.Fatalf("error %v", err)
			}
			return
		}
		// Every accepted parameter appears once in the body.
		values, _ := url.ParseQuery(body)
		for k, v := range got {
			if len(values[k]) != 1 || values[k][0] != v {
				t.Fatalf("parameter %q: %q vs %q", k, v, values[k])
			}
		}
	})
}

func FuzzParseBasic(f *testing.F) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{enc("client:secret"), enc("a%3Ab:c%25d"), enc("nocolon"), enc(":empty-id"), "!!!", enc("x:%zz"), ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		id, sec, err := parseBasic(value)
		if err != nil {
			return
		}
		if id == "" {
			t.Fatalf("accepted an empty client id from %q", value)
		}
		// Re-encoding what was parsed parses to the same credentials.
		again := enc(url.QueryEscape(id) + ":" + url.QueryEscape(sec))
		id2, sec2, err := parseBasic(again)
		if err != nil || id2 != id || sec2 != sec {
			t.Fatalf("round trip of %q/%q: %q/%q %v", id, sec, id2, sec2, err)
		}
		_ = strings.TrimSpace(id)
	})
}
