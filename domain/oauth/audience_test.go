package oauth_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/paylent/paylent/domain/oauth"
)

func TestAudience(t *testing.T) {
	const iss = "https://acme-test.example.com"
	apis := map[string]bool{"https://docs.api": true, "https://billing.api": true}
	scopes := map[string]string{"read:docs": "https://docs.api", "pay": "https://billing.api", "loose": "", "openid": "", "profile": ""}
	src := oauth.AudienceSource{Issuer: iss,
		IsAPI: func(id string) bool { return apis[id] },
		ScopeAPI: func(s string) (string, bool) {
			api, ok := scopes[s]
			return api, ok
		}}
	withDefault := src
	withDefault.DefaultAPI = "https://default.api"
	sc := oauth.NewScopes
	for _, tc := range []struct {
		name      string
		src       oauth.AudienceSource
		scope     oauth.Scopes
		resources []string
		aud       []string
		narrowed  oauth.Scopes
		err       error
	}{
		{"OpenID only: the UserInfo endpoint", src, sc("openid", "profile"), nil, []string{iss + "/oauth/userinfo"}, sc("openid", "profile"), nil},
		{"owners of the scopes, sorted", src, sc("openid", "read:docs", "pay"), nil, []string{"https://billing.api", "https://docs.api"}, sc("openid", "read:docs", "pay"), nil},
		{"custom scope without an API: the issuer", src, sc("loose"), nil, []string{iss}, sc("loose"), nil},
		{"custom scope without an API: the default API", withDefault, sc("loose", "read:docs"), nil, []string{"https://default.api", "https://docs.api"}, sc("loose", "read:docs"), nil},
		{"management scopes: the Management API", src, sc("admin:read"), nil, []string{iss + "/api/v1"}, sc("admin:read"), nil},
		{"resource narrows audience and scope", src, sc("openid", "read:docs", "pay"), []string{"https://docs.api"}, []string{"https://docs.api"}, sc("read:docs"), nil},
		{"two resources", src, sc("read:docs", "pay"), []string{"https://docs.api", "https://billing.api"}, []string{"https://billing.api", "https://docs.api"}, sc("read:docs", "pay"), nil},
		{"the Management API as a resource", src, sc("admin:read", "read:docs"), []string{iss + "/api/v1"}, []string{iss + "/api/v1"}, sc("admin:read"), nil},
		{"unknown resource", src, sc("read:docs"), []string{"https://evil.example"}, nil, nil, oauth.ErrInvalidTarget},
		{"another environment's Management API", src, sc("admin:read"), []string{"https://other.example.com/api/v1"}, nil, nil, oauth.ErrInvalidTarget},
		{"a resource none of the scopes is for", src, sc("read:docs"), []string{"https://billing.api"}, nil, nil, oauth.ErrInvalidTarget},
		{"a resource with OpenID scopes only", src, sc("openid"), []string{"https://docs.api"}, nil, nil, oauth.ErrInvalidTarget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aud, narrowed, err := oauth.Audience(tc.src, tc.scope, tc.resources)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(aud, tc.aud) || !reflect.DeepEqual(narrowed, tc.narrowed) {
				t.Errorf("audience %v scope %v, want %v %v", aud, narrowed, tc.aud, tc.narrowed)
			}
		})
	}
}
