package app_test

import (
	"errors"
	"testing"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/client"
)

// A registration that asks to refuse a duplicate name is refused when a client of its
// environment has that name (ignoring case and spacing), naming only that environment's
// clients; without the ask, or with another name, it registers as before.
func TestRegisterClientDuplicateName(t *testing.T) {
	h := newHarness(t)
	h.Environment(t, "globex", "globex-dev")
	reg := func(env, name string, refuse bool) (app.ClientRegistered, error) {
		s := webApp()
		s.Name = name
		return h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: env, Type: client.Confidential, Settings: s,
			Grantor: client.OperatorGrantor, RefuseDuplicateName: refuse}, apptest.Operator)
	}
	first, err := reg(env, "My Documents App", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg("globex-dev", "My Documents App", true); err != nil {
		t.Fatalf("a client of another environment counts: %v", err)
	}
	_, err = reg(env, "  my  documents APP ", true)
	var dup *app.DuplicateNameError
	if !errors.Is(err, app.ErrDuplicateName) || !errors.As(err, &dup) {
		t.Fatalf("duplicate: %v", err)
	}
	if len(dup.Clients) != 1 || dup.Clients[0].ID != first.ClientID {
		t.Errorf("duplicate names %+v, want only %s of %s", dup.Clients, first.ClientID, env)
	}
	if n := len(h.Catalog.Clients(env)); n != 1 {
		t.Fatalf("a refused duplicate registered: %d clients", n)
	}
	if _, err := reg(env, "My Documents App", false); err != nil {
		t.Fatalf("a confirmed duplicate: %v", err)
	}
	if _, err := reg(env, "My Other App", true); err != nil {
		t.Fatalf("another name: %v", err)
	}
	if got := len(h.App.ClientsNamed(env, "my documents app")); got != 2 {
		t.Errorf("ClientsNamed: %d, want 2", got)
	}
}
