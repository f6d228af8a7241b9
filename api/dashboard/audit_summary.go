package dashboard

import (
	"encoding/json"
	"strings"
)

// The audit log says in words how a person signed in and what happened to their second
// factors, from the events' own fields (nothing is looked up): a session.started row names
// the methods of its amr, a factor row what was used, failed, set up or removed and by whom.

// amrWords are the sign-in methods of RFC 8176 that Paylent records.
var amrWords = map[string]string{
	"pwd": "password",
	"otp": "authenticator app code",
	"hwk": "device-bound passkey",
	"swk": "synced passkey",
	"mfa": "",
}

// factorKinds name a factor event's kind.
var factorKinds = map[string]string{"totp": "authenticator app", "passkey": "passkey", "recovery_code": "recovery code"}

// summary is an event's row text, or "".
func summary(eventType string, raw json.RawMessage) string {
	var d struct {
		AMR      []string `json:"amr"`
		ACR      string   `json:"acr"`
		Kind     string   `json:"kind"`
		Reason   string   `json:"reason"`
		Name     string   `json:"name"`
		FactorID string   `json:"factor_id"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return ""
	}
	switch eventType {
	case "session.started":
		return "signed in with " + signInMethods(d.AMR)
	case "factor.totp_used":
		return "second factor: authenticator app code accepted"
	case "factor.recovery_code_used":
		return "second factor: a recovery code used (each works once)"
	case "factor.passkey_used":
		return "signed in with a passkey (" + d.FactorID + ")"
	case "factor.code_failed":
		what := "wrong"
		if d.Reason == "replayed_code" {
			what = "replayed (already used)"
		}
		return "refused: " + what + " " + kindWord(d.Kind)
	case "factor.totp_enrolled":
		return "authenticator app set up (pending its first code)"
	case "factor.totp_confirmed":
		return "authenticator app confirmed; 10 recovery codes issued"
	case "factor.passkey_registered":
		return "passkey registered: “" + d.Name + "”"
	case "factor.removed":
		by := "by the user"
		if d.Reason == "removed_by_operator" {
			by = "by an operator (reset)"
		}
		return kindWord(d.Kind) + " removed " + by
	case "user.password_changed":
		return "password changed; the user's sessions and tokens ended"
	case "user.password_rehashed":
		return "password hash renewed with the current parameters at sign-in; nothing else changed"
	case "user.sign_ins_ended":
		return "factors reset: every earlier sign-in ended; the user signs in again"
	}
	return ""
}

func kindWord(kind string) string {
	if w, ok := factorKinds[kind]; ok {
		return w
	}
	return "code"
}

// signInMethods names the methods of an amr; none (version 1 events) is a password.
func signInMethods(amr []string) string {
	if len(amr) == 0 {
		return "password"
	}
	var words []string
	for _, m := range amr {
		if w, ok := amrWords[m]; !ok {
			words = append(words, m)
		} else if w != "" {
			words = append(words, w)
		}
	}
	out := strings.Join(words, " and ")
	if len(amr) > 1 && strings.Contains(strings.Join(amr, " "), "mfa") {
		out += " (multi-factor)"
	}
	return out
}
