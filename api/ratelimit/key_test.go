package ratelimit

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// kvKey is what NATS KV accepts as a key, as one subject token (no dot: we never need
// one, and a leading, trailing or double dot is invalid).
var kvKey = regexp.MustCompile(`^[-/_=a-zA-Z0-9]+$`)

func TestStoreKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"token:acme-test:203.0.113.7", "token_3Aacme-test_3A203_2E0_2E113_2E7"},
		{"token:acme-test:2001:db8::1", "token_3Aacme-test_3A2001_3Adb8_3A_3A1"},
		{"login:acme-live:[fe80::1%eth0]", "login_3Aacme-live_3A_5Bfe80_3A_3A1_25eth0_5D"},
		{"a_b", "a_5Fb"},
		{"a=b/c", "a_3Db_2Fc"},
		{"x\x00\xff\n", "x_00_FF_0A"},
		{"é", "_C3_A9"},
		{".", "_2E"},
		{"*>", "_2A_3E"},
	} {
		if got := storeKey(tc.in); got != tc.want {
			t.Errorf("storeKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := "management:acme-test:" + strings.Repeat("client-", 40)
	got := storeKey(long)
	if !strings.HasPrefix(got, "=") || len(got) != 44 || !kvKey.MatchString(got) {
		t.Errorf("long key stored as %q", got)
	}
	if storeKey(long+"x") == got {
		t.Error("two long keys share a hash")
	}
}

// unescape inverts the readable form; that it exists proves the escaping injective.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case plain(s[i]):
			b.WriteByte(s[i])
		case s[i] == '_' && i+2 < len(s) && strings.IndexByte(upperHex, s[i+1]) >= 0 && strings.IndexByte(upperHex, s[i+2]) >= 0:
			v, _ := hex.DecodeString(s[i+1 : i+3])
			b.WriteByte(v[0])
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

func FuzzStoreKey(f *testing.F) {
	for _, s := range []string{"token:acme-test:2001:db8::1", "a_3A", "=abc", "x\x00\xff", strings.Repeat(":", 50), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if key == "" {
			return
		}
		got := storeKey(key)
		if !kvKey.MatchString(got) {
			t.Fatalf("storeKey(%q) = %q: not a KV key", key, got)
		}
		if strings.HasPrefix(got, "=") {
			if len(got) != 44 {
				t.Fatalf("storeKey(%q) = %q", key, got)
			}
			return
		}
		if back, ok := unescape(got); !ok || back != key || len(got) > maxReadableKey {
			t.Fatalf("storeKey(%q) = %q, which reads back as %q", key, got, back)
		}
	})
}
