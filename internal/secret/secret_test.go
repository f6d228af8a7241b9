package secret

import (
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	p := PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}
	h := HashPassword("correct horse battery staple", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := VerifyPassword(h, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, err := VerifyPassword(h, "Correct horse battery staple"); ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	if h2 := HashPassword("correct horse battery staple", p); h2 == h {
		t.Error("two hashes of one password share a salt")
	}
	if !NeedsRehash(h, DefaultPasswordParams) || NeedsRehash(h, p) {
		t.Error("NeedsRehash")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=9999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=1024,t=1,p=1$!!$!!"} {
		if _, err := VerifyPassword(bad, "x"); err != ErrBadHash {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	if len(ID()) != 22 || len(Token()) != 43 || ID() == ID() {
		t.Error("random values")
	}
	tok := Token()
	if !Equal(tok, Hash(tok)) || Equal(tok+"x", Hash(tok)) || Equal(tok, "") {
		t.Error("Equal")
	}
}
