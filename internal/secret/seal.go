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
	return sealAEAD(masterKey, passwordSealContext)
}

func sealAEAD(masterKey []byte, context string) (cipher.AEAD, error) {
	if len(masterKey) == 0 {
		return nil, errors.New("seal: no master key")
	}
	mac := hmac.New(sha256.New, masterKey)
	mac.Write([]byte(context))
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

// Purposes of SealSecret: each seals with its own key derived from the master key, so a value
// sealed for one purpose does not open for another.
const (
	// PurposeTOTPSeed seals authenticator-app seeds (factor.totp_enrolled).
	PurposeTOTPSeed = "paylent totp seed seal v1"
)

// ErrSealedSecret: a sealed secret that cannot be opened (another master key or purpose, or
// altered). It never says more.
var ErrSealedSecret = errors.New("sealed secret cannot be opened with this master key")

// SealSecret seals a second-factor secret with the master key, as SealPassword does, under a
// key derived for purpose: "sealed:v1:" and base64url of nonce ‖ AES-256-GCM.
func SealSecret(masterKey []byte, purpose string, plain []byte) (string, error) {
	aead, err := sealAEAD(masterKey, purpose)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := aead.Seal(nonce, nonce, plain, []byte(SealedPasswordPrefix+purpose))
	return SealedPasswordPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// OpenSecret opens what SealSecret sealed for purpose.
func OpenSecret(masterKey []byte, purpose, sealed string) ([]byte, error) {
	enc, ok := strings.CutPrefix(sealed, SealedPasswordPrefix)
	if !ok {
		return nil, ErrSealedSecret
	}
	aead, err := sealAEAD(masterKey, purpose)
	if err != nil {
		return nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrSealedSecret
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(SealedPasswordPrefix+purpose))
	if err != nil {
		return nil, ErrSealedSecret
	}
	return plain, nil
}
