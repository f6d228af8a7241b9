package web_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/eventstore"
	"github.com/paylent/paylent/tenants"
)

// The sign-in pages judge a browser's session by app.SignedIn, never by the sessions model
// alone: a user disabled by a version that left their sessions alone, or whose sign-ins an
// operator ended on an instance whose session revocation has not arrived here yet, is signed
// out of /account/security at once. Before, the face read the sessions model and showed
// the page.
func TestAccountPagesNeedASessionThatStands(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(userID string) domain.Event
	}{
		{"disabled by an older version", func(string) domain.Event { return user.Disabled{} }},
		{"sign-ins ended", func(string) domain.Event { return user.SignInsEnded{Reason: "factors_reset", At: time.Now()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := apptest.New(t)
			h.Environment(t, "acme", "acme-dev")
			pw, _ := user.NewPassword("a long and unusual phrase", "ada@example.com")
			u, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: "acme-dev", Email: "ada@example.com", Name: "Ada",
				Password: pw}, apptest.Operator)
			if err != nil {
				t.Fatal(err)
			}
			s, err := h.App.StartSession(t.Context(), app.StartSession{Environment: "acme-dev", UserID: u.UserID, TTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			a := api.New(api.Options{Directory: tenants.NewDirectory(h.Catalog, "localhost:4000", "http"), Logger: log,
				Web: web.New(web.Deps{App: h.App, Catalog: h.Catalog, Sessions: h.Sessions, Keys: h.Keys, MasterKey: apptest.MasterKey,
					Scheme: "http", Logger: log})})
			security := func() (int, string) {
				req := httptest.NewRequest("GET", "http://"+host+"/account/security", nil)
				req.Header.Set("Cookie", "paylent_session="+s.Token)
				resp, err := a.Test(req, 5000)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, page := security(); code != 200 || !strings.Contains(page, "ada@example.com") {
				t.Fatalf("signed in: %d\n%s", code, page)
			}
			typ, ver, data, err := h.Registry.Encode(tc.end(u.UserID))
			if err != nil {
				t.Fatal(err)
			}
			ref := user.Stream("acme-dev", u.UserID)
			if _, err := h.Store.Append(t.Context(), eventstore.StreamAppend{Environment: ref.Environment, Stream: ref.Stream,
				ExpectedVersion: eventstore.ExpectAny, Events: []eventstore.NewEvent{{Type: typ, SchemaVersion: ver, Data: data,
					OccurredAt: time.Now(), Actor: apptest.System}}}); err != nil {
				t.Fatal(err)
			}
			if code, page := security(); code != 401 || strings.Contains(page, "ada@example.com") {
				t.Errorf("after the user's end: %d\n%s", code, page)
			}
		})
	}
}
