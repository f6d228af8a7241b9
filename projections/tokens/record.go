package tokens

import (
	"encoding/binary"
	"math"
	"time"
	"unique"
)

// A token is kept as a rec of fixed size (96 bytes allocated) under its jti: what many
// tokens share (client, subject, scope, audience, how the user signed in) is one interned
// profile; the token's hash is 32 bytes, not 64 hex characters; times are int64
// nanoseconds, not time.Time. Token, what queries return, is rebuilt from it.
type rec struct {
	who      unique.Handle[profile]
	grant    string
	issued   stamp
	expires  stamp
	authTime stamp // when flagAuthTime
	hash     [32]byte
	flags    uint8
}

const (
	flagRevoked uint8 = 1 << iota
	flagSuperseded
	flagAuthTime
	// flagHash: hash is this token's and the snapshot's by_hash maps its hex to this jti,
	// which is its first 32 hex digits (token.HashJTI). Other hashes are in envTokens.odd.
	flagHash
)

// profile is what a token shares with the other tokens of the same client, subject and
// scope. Lists are encoded as one string (encodeList).
type profile struct {
	kind, format, client, subject, subjectKind, scope, audience, acr, amr string
}

func newRec(t Token) *rec {
	r := &rec{grant: t.GrantID, issued: toStamp(t.IssuedAt), expires: toStamp(t.ExpiresAt),
		who: unique.Make(profile{kind: t.Kind, format: t.Format, client: t.ClientID, subject: t.Subject,
			subjectKind: t.SubjectKind, scope: t.Scope, audience: encodeList(t.Audience), acr: t.ACR, amr: encodeList(t.AMR)})}
	if t.Revoked {
		r.flags |= flagRevoked
	}
	if t.Superseded {
		r.flags |= flagSuperseded
	}
	if t.AuthTime != nil {
		r.flags |= flagAuthTime
		r.authTime = toStamp(*t.AuthTime)
	}
	return r
}

// token is the Token r keeps under jti.
func (r *rec) token(jti string) Token {
	p := r.who.Value()
	t := Token{JTI: jti, Kind: p.kind, Format: p.format, ClientID: p.client, Subject: p.subject, SubjectKind: p.subjectKind,
		Scope: p.scope, Audience: decodeList(p.audience), IssuedAt: r.issued.time(), ExpiresAt: r.expires.time(),
		GrantID: r.grant, Revoked: r.flags&flagRevoked != 0, Superseded: r.flags&flagSuperseded != 0, ACR: p.acr, AMR: decodeList(p.amr)}
	if r.flags&flagAuthTime != 0 {
		at := r.authTime.time()
		t.AuthTime = &at
	}
	return t
}

// stamp is an instant in Unix nanoseconds, in UTC; zeroStamp is the zero time.Time. Times
// before 1678 or after 2262 (no token's: the domain's clock sets them) are clamped.
type stamp int64

const zeroStamp = stamp(math.MinInt64)

var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func toStamp(t time.Time) stamp {
	switch {
	case t.IsZero():
		return zeroStamp
	case t.Before(minTime):
		return zeroStamp + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return stamp(t.UnixNano())
}

func (s stamp) time() time.Time {
	if s == zeroStamp {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).UTC()
}

// encodeList encodes a list as one comparable string: each element's length (uvarint),
// then its bytes. Nil and empty lists are both "" (the snapshot omits both alike).
func encodeList(list []string) string {
	var b []byte
	for _, s := range list {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return string(b)
}

func decodeList(s string) []string {
	var out []string
	for len(s) > 0 {
		n, w := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		if w <= 0 || uint64(len(s)-w) < n {
			return out // not written by encodeList
		}
		out = append(out, s[w:w+int(n)])
		s = s[w+int(n):]
	}
	return out
}

// parseHash decodes a token hash of 64 lowercase hex digits (what internal/secret
// writes); other strings are not parsed, so that hex.EncodeToString gives back the string.
func parseHash(s string) ([32]byte, bool) {
	var h [32]byte
	if len(s) != 64 {
		return h, false
	}
	for i := range h {
		hi, ok1 := lowerHex(s[2*i])
		lo, ok2 := lowerHex(s[2*i+1])
		if !ok1 || !ok2 {
			return h, false
		}
		h[i] = hi<<4 | lo
	}
	return h, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
