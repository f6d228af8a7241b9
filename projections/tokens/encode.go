package tokens

import (
	"time"
	"unicode/utf8"
)

// The snapshot's entries are appended by hand, in the bytes encoding/json gives for Token,
// map keys and time.Time (compact, HTML-escaped): a checkpoint of 100,000 tokens would
// otherwise allocate several times its size in garbage. compact_internal_test.go compares
// the bytes with json.Marshal of the former model on random tokens.

// appendToken appends r, kept under jti, as encoding/json encodes r.token(jti).
func appendToken(b []byte, jti string, r *rec) []byte {
	p := r.who.Value()
	b = appendMember(b, `{"jti":`, jti)
	b = appendMember(b, `,"kind":`, p.kind)
	b = appendMember(b, `,"format":`, p.format)
	b = appendMember(b, `,"client_id":`, p.client)
	b = appendMember(b, `,"subject":`, p.subject)
	b = appendMember(b, `,"subject_kind":`, p.subjectKind)
	b = appendMember(b, `,"scope":`, p.scope)
	if p.audience != "" {
		b = appendList(append(b, `,"audience":`...), decodeList(p.audience))
	}
	b = appendTime(append(b, `,"issued_at":`...), r.issued.time())
	b = appendTime(append(b, `,"expires_at":`...), r.expires.time())
	if r.grant != "" {
		b = appendMember(b, `,"grant_id":`, r.grant)
	}
	if r.flags&flagRevoked != 0 {
		b = append(b, `,"revoked":true`...)
	}
	if r.flags&flagSuperseded != 0 {
		b = append(b, `,"superseded":true`...)
	}
	if r.flags&flagAuthTime != 0 {
		b = appendTime(append(b, `,"auth_time":`...), r.authTime.time())
	}
	if p.acr != "" {
		b = appendMember(b, `,"acr":`, p.acr)
	}
	if p.amr != "" {
		b = appendList(append(b, `,"amr":`...), decodeList(p.amr))
	}
	return append(b, '}')
}

func appendMember(b []byte, name, v string) []byte { return appendString(append(b, name...), v) }

func appendList(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendTime appends t as time.Time's MarshalJSON does (every stamp is within years 0–9999).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json quotes a string with HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
