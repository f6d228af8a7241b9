package secret

import (
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	p := PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}
	hs := NewHasher(HasherConfig{Params: p})
	h, err := hs.Hash(t.Context(), "correct horse battery staple")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q %v", h, err)
	}
	if ok, err := hs.Verify(t.Context(), h, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, err := hs.Verify(t.Context(), h, "Correct horse battery staple"); ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	if h2, _ := hs.Hash(t.Context(), "correct horse battery staple"); h2 == h {
		t.Error("two hashes of one password share a salt")
	}
	if !NeedsRehash(h, DefaultPasswordParams) || NeedsRehash(h, p) {
		t.Error("NeedsRehash")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=9999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=1024,t=1,p=1$!!$!!"} {
		if _, err := hs.Verify(t.Context(), bad, "x"); err != ErrBadHash {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A hash made with the earlier default (m=64 MiB, t=2, p=2) verifies with a hasher whose
// parameters are the new default, and is marked for rehashing.
func TestOldParametersStillVerify(t *testing.T) {
	old := PasswordParams{MemoryKiB: 64 * 1024, Time: 2, Threads: 2}
	h, err := NewHasher(HasherConfig{Params: old}).Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHasher(HasherConfig{})
	if ok, err := hs.Verify(t.Context(), h, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("old hash: %v %v", ok, err)
	}
	if !NeedsRehash(h, hs.Params()) {
		t.Error("an old hash does not need rehashing")
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
