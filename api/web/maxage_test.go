package web_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/internal/secret"
	"github.com/paylent/paylent/tenants"
)

// max_age is judged on the auth_time the ID token will carry, in whole seconds. Sessions
// are timed to the microsecond since 5514811: a session started at S+0.9 s and reused at
// S+60.5 s for max_age=60 was 59.6 s old, so no sign-in was asked, yet the ID token said
// auth_time S, 60.5 s before, and a relying party (or resourceserver.StepUp) checking
// max_age against it refused the sign-in it had just asked for (review).
func TestMaxAgeIsJudgedOnTheAuthTimeTheTokenCarries(t *testing.T) {
	h := apptest.New(t)
	h.Environment(t, "acme", "acme-dev")
	pw, _ := user.NewPassword("a long and unusual phrase", "ada@example.com")
	u, err := h.App.CreateUser(t.Context(), app.CreateUser{Environment: "acme-dev", Email: "ada@example.com", Name: "Ada",
		Password: pw}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: "acme-dev", Type: client.Confidential,
		Settings: client.Settings{Name: "web", FirstParty: true, GrantTypes: []string{client.GrantAuthorizationCode},
			RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"openid"}}, Grantor: client.OperatorGrantor}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	second := time.Now().UTC().Truncate(time.Second)
	signedInAt := second.Add(900 * time.Millisecond)
	at := h.AppWith(secret.NewHasher(secret.HasherConfig{Params: secret.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}}),
		func(o *app.Options) { o.Now = func() time.Time { return signedInAt } })
	s, err := at.StartSession(t.Context(), app.StartSession{Environment: "acme-dev", UserID: u.UserID, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	now := second.Add(60*time.Second + 500*time.Millisecond)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := api.New(api.Options{Directory: tenants.NewDirectory(h.Catalog, "localhost:4000", "http"), Logger: log,
		Web: web.New(web.Deps{App: h.App, Catalog: h.Catalog, Sessions: h.Sessions, Keys: h.Keys, MasterKey: apptest.MasterKey,
			Scheme: "http", Logger: log, Now: func() time.Time { return now }})})
	q := url.Values{"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {"https://app.example/cb"},
		"scope": {"openid"}, "state": {"s1"}, "max_age": {"60"}}
	req := httptest.NewRequest("GET", "http://"+host+"/oauth/authorize?"+q.Encode(), nil)
	req.Header.Set("Cookie", "paylent_session="+s.Token)
	resp, err := a.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "code=") {
		t.Errorf("max_age=60 reused a session whose auth_time claim is %d, %v before now: %s",
			s.Session.AuthTime.Unix(), now.Sub(time.Unix(s.Session.AuthTime.Unix(), 0)), loc)
	}
}
