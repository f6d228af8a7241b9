package app_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/paylent/paylent/app"
)

var rp = app.RelyingParty{ID: "acme-dev.localhost", Origin: "http://acme-dev.localhost:4000", Name: "Acme"}

// The ceremonies ask for a discoverable credential with user verification, for the
// environment's RP id; an answer that is not a valid credential records nothing.
func TestPasskeyCeremonies(t *testing.T) {
	h := newHarness(t)
	ada := someUser(t, h, "ada@example.com")
	reg, err := h.App.BeginPasskeyRegistration(t.Context(), env, ada, rp)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		RP   struct{ ID string }
		User struct{ Name string }
		Sel  struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	}
	if err := json.Unmarshal(reg.Options, &opts); err != nil || opts.RP.ID != rp.ID || opts.User.Name != "ada@example.com" ||
		opts.Sel.ResidentKey != "required" || opts.Sel.UserVerification != "required" {
		t.Errorf("creation options %s: %v", reg.Options, err)
	}
	head, _ := h.Store.Latest(t.Context())
	if _, err := h.App.FinishPasskeyRegistration(t.Context(), app.FinishPasskey{Environment: env, UserID: ada, RP: rp,
		State: reg.State, Response: []byte(`{"id":"x","type":"public-key"}`), Name: "Laptop", Browser: someone}); !errors.Is(err, app.ErrPasskeyFailed) {
		t.Errorf("a made-up credential: %v", err)
	}
	if _, err := h.App.FinishPasskeyRegistration(t.Context(), app.FinishPasskey{Environment: env, UserID: "someone-else", RP: rp,
		State: reg.State, Response: []byte(`{}`), Browser: someone}); err == nil {
		t.Error("another user's ceremony")
	}
	signIn, err := h.App.BeginPasskeySignIn(rp)
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		RPID             string `json:"rpId"`
		UserVerification string `json:"userVerification"`
		Allow            []any  `json:"allowCredentials"`
	}
	if err := json.Unmarshal(signIn.Options, &req); err != nil || req.RPID != rp.ID || req.UserVerification != "required" || len(req.Allow) != 0 {
		t.Errorf("request options %s: %v", signIn.Options, err)
	}
	if _, err := h.App.FinishPasskeySignIn(t.Context(), app.FinishPasskey{Environment: env, RP: rp, State: signIn.State,
		Response: []byte(`not json`), Browser: someone}); !errors.Is(err, app.ErrPasskeyFailed) {
		t.Errorf("a made-up assertion: %v", err)
	}
	if after, _ := h.Store.Latest(t.Context()); after != head {
		t.Errorf("refused ceremonies appended events: %d → %d", head, after)
	}
}
