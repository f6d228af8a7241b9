package web_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/paylent/paylent/api"
	"github.com/paylent/paylent/api/web"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/app/apptest"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/tenants"
)

const host = "acme-dev.localhost:4000"

// syncBuffer is a log sink the handlers may write from any goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The authorize and logout error pages for a redirect target the client did not register
// name the URI received and the registered ones on the embedded default (Dev), and never
// otherwise; the log says why in both, at warn level, with the client and the URI, and
// without the client's secret.
func TestUnregisteredRedirectDetail(t *testing.T) {
	h := apptest.New(t)
	h.Environment(t, "acme", "acme-dev")
	reg, err := h.App.RegisterClient(t.Context(), app.RegisterClient{Environment: "acme-dev", Type: client.Confidential,
		Settings: client.Settings{Name: "Docs", GrantTypes: []string{client.GrantAuthorizationCode},
			RedirectURIs: []string{"http://localhost:3000/callback"}, PostLogoutRedirectURIs: []string{"http://localhost:3000/"},
			Scopes: []string{"openid"}}, Grantor: client.OperatorGrantor}, apptest.Operator)
	if err != nil {
		t.Fatal(err)
	}
	const wrong, wrongLogout = "http://localhost:3001/callback", "http://localhost:3000/bye"
	requests := map[string]struct {
		path, received, registered string
	}{
		"authorize": {"/oauth/authorize?" + url.Values{"client_id": {reg.ClientID}, "redirect_uri": {wrong}, "response_type": {"code"},
			"scope": {"openid"}}.Encode(), wrong, "http://localhost:3000/callback"},
		"logout": {"/oauth/logout?" + url.Values{"client_id": {reg.ClientID}, "post_logout_redirect_uri": {wrongLogout}}.Encode(),
			wrongLogout, "http://localhost:3000/"},
	}
	for _, dev := range []bool{true, false} {
		logs := &syncBuffer{}
		log := slog.New(slog.NewJSONHandler(logs, nil))
		a := api.New(api.Options{Directory: tenants.NewDirectory(h.Catalog, "localhost:4000", "http"), Logger: log,
			Web: web.New(web.Deps{App: h.App, Catalog: h.Catalog, Sessions: h.Sessions, Keys: h.Keys, MasterKey: apptest.MasterKey,
				Scheme: "http", Logger: log, Dev: dev})})
		for name, rq := range requests {
			req := httptest.NewRequest("GET", "http://"+host+rq.path, nil)
			resp, err := a.Test(req, 5000)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(b)
			detail := strings.Contains(page, "Development details") && strings.Contains(page, rq.received) && strings.Contains(page, rq.registered)
			if resp.StatusCode != 400 || detail != dev {
				t.Errorf("%s, dev %v: %d, detail shown %v\n%s", name, dev, resp.StatusCode, detail, page)
			}
			if !dev && (strings.Contains(page, rq.registered) || strings.Contains(page, rq.received) || strings.Contains(page, reg.ClientID)) {
				t.Errorf("%s in production names a URI or the client:\n%s", name, page)
			}
		}
		out := logs.String()
		for _, want := range []string{`"level":"WARN","msg":"redirect target not registered"`, `"client_id":"` + reg.ClientID + `"`,
			`"received":"` + wrong + `"`, `"received":"` + wrongLogout + `"`} {
			if !strings.Contains(out, want) {
				t.Errorf("dev %v: the log lacks %s:\n%s", dev, want, out)
			}
		}
		if strings.Contains(out, reg.Secret) {
			t.Error("the client secret is in the log")
		}
	}
}
