package client_test

import (
	"testing"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
)

// Every application type, as a form fills it in (its example redirect URI, or the one a
// person types where it has none), is a registration the decision accepts.
func TestKindsRegister(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range client.Kinds() {
		if keys[k.Key] {
			t.Fatalf("kind %q twice", k.Key)
		}
		keys[k.Key] = true
		s := client.Settings{Name: k.Name, GrantTypes: k.Grants}
		if k.NeedsRedirect() {
			s.RedirectURIs = []string{k.RedirectURI}
			if k.RedirectURI == "" {
				s.RedirectURIs = []string{"https://app.example.com/callback"}
			}
		}
		sec := ""
		if k.Type == client.Confidential {
			sec = hash
		}
		if _, err := register(s, k.Type, sec).Decide([][]domain.Event{nil, {env}}, now); err != nil {
			t.Errorf("%s: %v", k.Key, err)
		}
	}
	for _, want := range []string{"web", "spa", "native", "m2m"} {
		if _, ok := client.KindOf(want); !ok {
			t.Errorf("no kind %q", want)
		}
	}
	if k, _ := client.KindOf("m2m"); k.NeedsRedirect() || k.UserScopes {
		t.Error("a machine-to-machine client needs no redirect URI and no user scopes")
	}
	k, _ := client.KindOf("web")
	k.Grants[0] = "changed"
	if again, _ := client.KindOf("web"); again.Grants[0] == "changed" {
		t.Error("Kinds shares its slices")
	}
}
