package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// SealedPasswordPrefix starts a password hash sealed with the master key, as events hold it:
// "sealed:v1:" and the unpadded base64url of nonce ‖ AES-256-GCM ciphertext of the PHC string.
// Events carry users' password hashes so that the log is the whole truth; sealing keeps them
// from whoever reads events (a downstream service, an auditor, NATS) without the master key.
const SealedPasswordPrefix = "sealed:v1:"

// passwordSealContext derives the password-sealing key from the master key, so that it is
// not the key that seals anything else.
const passwordSealContext = "paylent password hash seal v1"

// ErrSealed: a sealed password hash that cannot be opened (another master key, or altered).
var ErrSealed = errors.New("sealed password hash cannot be opened with this master key")

func passwordAEAD(masterKey []byte) (cipher.AEAD, error) {
	if len(masterKey) == 0 {
		return nil, errors.New("seal password hash: no master key")
	}
	mac := hmac.New(sha256.New, masterKey)
	mac.Write([]byte(passwordSealContext))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SealPassword seals a PHC password hash with the master key.
func SealPassword(masterKey []byte, phc string) (string, error) {
	aead, err := passwordAEAD(masterKey)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := aead.Seal(nonce, nonce, []byte(phc), []byte(SealedPasswordPrefix))
	return SealedPasswordPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// OpenPassword returns the PHC string of a stored password hash: sealed ones are opened
// with the master key; a PHC string (events written before sealing) is returned as is.
func OpenPassword(masterKey []byte, stored string) (string, error) {
	enc, sealed := strings.CutPrefix(stored, SealedPasswordPrefix)
	if !sealed {
		return stored, nil
	}
	aead, err := passwordAEAD(masterKey)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", ErrSealed
	}
	phc, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(SealedPasswordPrefix))
	if err != nil {
		return "", ErrSealed
	}
	return string(phc), nil
}
