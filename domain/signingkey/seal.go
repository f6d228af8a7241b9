package signingkey

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
)

// Sizes of the sealing scheme (AES-256-GCM).
const (
	MasterKeySize = 32
	NonceSize     = 12
	tagSize       = 16
)

// ErrWrongMasterKey is returned by Open when the sealed data does not authenticate: it was
// sealed with another master key, or altered.
var ErrWrongMasterKey = errors.New("sealed data does not open with this master key (another key, or altered data)")

// additionalData binds sealed blobs to their purpose, should the master key ever seal
// anything else.
var additionalData = []byte("paylent/signing-key/v1")

func newAEAD(masterKey []byte) (cipher.AEAD, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, not %d", MasterKeySize, len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext with the master key (AES-256-GCM) under the given 12-byte nonce,
// which must never repeat for one master key (draw it from a cryptographic random source).
// The result is nonce ‖ ciphertext ‖ tag.
func Seal(masterKey, nonce, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if len(nonce) != NonceSize {
		return nil, fmt.Errorf("seal: nonce must be %d bytes, not %d", NonceSize, len(nonce))
	}
	out := make([]byte, NonceSize, NonceSize+len(plaintext)+aead.Overhead())
	copy(out, nonce)
	return aead.Seal(out, nonce, plaintext, additionalData), nil
}

// Open decrypts what Seal produced. A wrong master key or altered data is ErrWrongMasterKey.
func Open(masterKey, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if len(sealed) < NonceSize+aead.Overhead() {
		return nil, fmt.Errorf("open: sealed data is too short (%d bytes)", len(sealed))
	}
	plain, err := aead.Open(nil, sealed[:NonceSize], sealed[NonceSize:], additionalData)
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrWrongMasterKey)
	}
	return plain, nil
}
