package main_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	be "encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// softKey is a software passkey authenticator (ES256, "none" attestation, user verified),
// for tests that drive the passkey endpoints over HTTP without a browser.
type softKey struct {
	t      *testing.T
	priv   *ecdsa.PrivateKey
	id     []byte
	user   []byte
	count  uint32
	origin string
	rpID   string
}

func newSoftKey(t *testing.T, issuer string) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id) //nolint:errcheck // crypto/rand does not fail
	u, _ := url.Parse(issuer)
	return &softKey{t: t, priv: priv, id: id, origin: issuer, rpID: u.Hostname()}
}

var b64 = base64.RawURLEncoding

func (k *softKey) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(k.rpID))
	var b bytes.Buffer
	b.Write(rp[:])
	b.WriteByte(flags)
	be.Write(&b, be.BigEndian, k.count) //nolint:errcheck // bytes.Buffer
	b.Write(attested)
	return b.Bytes()
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// create answers creation options ({"publicKey": ...}) with a new credential.
func (k *softKey) create(options []byte) json.RawMessage {
	k.t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		k.t.Fatalf("creation options %s: %v", options, err)
	}
	k.user, _ = b64.DecodeString(o.PublicKey.User.ID)
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, XCoord: k.priv.X.FillBytes(make([]byte, 32)), YCoord: k.priv.Y.FillBytes(make([]byte, 32))})
	if err != nil {
		k.t.Fatal(err)
	}
	var att bytes.Buffer
	att.Write(make([]byte, 16))                     // AAGUID
	be.Write(&att, be.BigEndian, uint16(len(k.id))) //nolint:errcheck // bytes.Buffer
	att.Write(k.id)
	att.Write(cose)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(0x45, att.Bytes())})
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData("webauthn.create", o.PublicKey.Challenge, k.origin)),
			"attestationObject": b64.EncodeToString(obj)}})
	return b
}

// get answers request options ({"publicKey": ...}) with an assertion of the credential.
func (k *softKey) get(options []byte) json.RawMessage {
	k.t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		k.t.Fatalf("request options %s: %v", options, err)
	}
	k.count++
	cd := clientData("webauthn.get", o.PublicKey.Challenge, k.origin)
	ad := k.authData(0x05, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.user)}})
	return b
}

// postJSON sends a JSON request as passkey.js does (same origin, the page's CSRF token).
func (p *pageClient) postJSON(rawURL, csrf string, body any) (*http.Response, []byte) {
	p.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", rawURL, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", p.origin)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// addPasskey registers k for the browser's signed-in user through the security page's
// endpoints; it returns the begin and finish statuses.
func addPasskey(pc *pageClient, issuer string, k *softKey) (int, int) {
	_, page := pc.do("GET", issuer+"/account/security", nil)
	csrf := fields(page).Get("_csrf")
	resp, opts := pc.postJSON(issuer+"/account/passkeys/begin", csrf, map[string]any{})
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, 0
	}
	resp, _ = pc.postJSON(issuer+"/account/passkeys/finish", csrf, map[string]any{"name": "Key", "credential": k.create(opts)})
	return http.StatusOK, resp.StatusCode
}

// passkeySignIn signs the browser in with k; it returns the finish status.
func passkeySignIn(pc *pageClient, issuer string, k *softKey) int {
	_, page := pc.do("GET", issuer+"/login", nil)
	csrf := fields(page).Get("_csrf")
	resp, opts := pc.postJSON(issuer+"/login/passkey/begin", csrf, map[string]any{})
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode
	}
	resp, _ = pc.postJSON(issuer+"/login/passkey/finish", csrf, map[string]any{"credential": k.get(opts)})
	return resp.StatusCode
}
