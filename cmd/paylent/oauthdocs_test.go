package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oauthDocPrelude stands in for the reader: the browser sign-in the page asks for (GET the
// authorize URL, sign in as the demo user on the login page, approve on the consent page,
// and read the code from the redirect), with curl and one cookie jar as a browser would. It
// does not wait for the clients the page registers: authorize looks for a client it has not
// projected yet at the log's head.
const oauthDocPrelude = `set -euo pipefail
JAR=$(mktemp)
hidden() { grep -o "name=\"$1\" value=\"[^\"]*\"" | head -n 1 | sed 's/.*value="//; s/"$//'; }
paylent_page() { # METHOD PATH [curl args...]: prints the status line, the Location, then the body
  local method=$1 path=$2; shift 2
  curl -s -X "$method" -b "$JAR" -c "$JAR" -H "Host: $ENV_HOST" -H "Origin: $ISSUER" \
    -w '\n%{http_code} %{redirect_url}' "$@" "$PAYLENT$path"
}
paylent_login() { # AUTHORIZE_URL: prints the code the browser would be sent back with
  local out status csrf flow
  out=$(paylent_page GET "${1#"$ISSUER"}")
  status=$(tail -n 1 <<<"$out")
  if [[ $status != 302* ]]; then
    csrf=$(hidden _csrf <<<"$out"); flow=$(hidden flow <<<"$out")
    out=$(paylent_page POST /login --data-urlencode "_csrf=$csrf" --data-urlencode "flow=$flow" \
      --data-urlencode "email=$DEMO_EMAIL" --data-urlencode "password=$DEMO_PASSWORD")
    status=$(tail -n 1 <<<"$out")
  fi
  if [[ $status == 200* ]]; then # the consent page
    csrf=$(hidden _csrf <<<"$out"); flow=$(hidden flow <<<"$out")
    out=$(paylent_page POST /consent --data-urlencode "_csrf=$csrf" --data-urlencode "flow=$flow" -d decision=approve)
    status=$(tail -n 1 <<<"$out")
  fi
  [[ $status == 30[23]\ http://127.0.0.1:8765/callback?* ]] || { echo "sign-in did not reach the callback: $status" >&2; return 1; }
  sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$status"
}
`

// Every shell block of docs/OAUTH_ENDPOINTS.md runs, in order, against a real server, with
// only the placeholders set and the browser sign-in done by oauthDocPrelude.
func TestOAuthEndpointsDocRuns(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the documented examples", tool)
		}
	}
	s := startOne(t)
	s.run(t, "env", "create", "--account", "examples", "--slug", "examples-dev", "--name", "Examples (development)")
	const demoPassword = "a demo passphrase"
	s.run(t, "users", "create", "--env", "examples-dev", "--email", "demo@example.com", "--password", demoPassword, "--name", "Demo User")
	eventually(t, 30*time.Second, "examples-dev has signing keys", func() bool {
		code, body := s.a.get(s.a.host("examples-dev"), "/.well-known/jwks.json")
		keys, _ := body["keys"].([]any)
		return code == http.StatusOK && len(keys) >= 2
	})
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "OAUTH_ENDPOINTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks strings.Builder
	for _, m := range shellBlock.FindAllStringSubmatch(string(doc), -1) {
		blocks.WriteString(m[1])
	}
	script := blocks.String()
	for placeholder, value := range map[string]string{
		"PAYLENT=http://127.0.0.1:4000":                   fmt.Sprintf("PAYLENT=http://127.0.0.1:%d", s.a.port),
		"ENV_HOST=examples-dev.localhost:4000":            "ENV_HOST=" + s.a.host("examples-dev"),
		"ISSUER=http://examples-dev.localhost:4000":       "ISSUER=" + s.a.issuer("examples-dev"),
		"CODE=paste-the-code-from-the-address-bar":        `CODE=$(paylent_login "$AUTHORIZE_URL")`,
		"CODE=paste-the-second-code-from-the-address-bar": `CODE=$(paylent_login "$AUTHORIZE_URL")`,
		"bin/paylent ": `"$PAYLENT_BIN" `,
	} {
		if !strings.Contains(script, placeholder) {
			t.Fatalf("docs/OAUTH_ENDPOINTS.md no longer has %q, which the test replaces", placeholder)
		}
		script = strings.ReplaceAll(script, placeholder, value)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", oauthDocPrelude+script)
	cmd.Dir = t.TempDir()
	// The CLI uses the stack's database; mail tail reads the server's dev outbox.
	cmd.Env = append(append(os.Environ(), s.cliEnv...), "PAYLENT_BIN="+binary, "PAYLENT_DATA_DIR="+s.a.dataDir,
		"DEMO_EMAIL=demo@example.com", "DEMO_PASSWORD="+demoPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docs/OAUTH_ENDPOINTS.md examples failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"<title>Sign in · Examples (development)</title>",
		`"has_refresh_token": true`, `"has_id_token": true`,
		`"aud":["http://localhost:4200"],"scope":"email openid profile reference:read"`,
		`"error":"invalid_grant","error_description":"the authorization code was already used`,
		`"aud":"` /* the ID token's, a string */, `["email","email_verified","name","sub"]`,
		`"same_refresh_token": true`, `"scope": "reference:read"`,
		`the refresh token was already used; the grant is revoked`,
		`"error_description":"the refresh token is invalid, expired or revoked"`,
		`"error":"unsupported_grant_type"`,
		`{"active":true,"token_type":"Bearer","scope":"reference:read","aud":["http://localhost:4200"]}`,
		`{"active":false}`, "\n200\n",
		`error="invalid_token"`, `"error":"insufficient_scope"`,
		"302 http://127.0.0.1:8765/?state=bye",
		`"email":"ada@example.com"`, `{"status":"ok"}`, `"ready"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the examples' output lacks %s", want)
		}
	}
	if low := strings.ToLower(string(out)); !strings.Contains(low, `www-authenticate: basic realm="paylent"`) ||
		!strings.Contains(low, "http/1.1 401") {
		t.Error("the wrong-secret example does not show the 401 with WWW-Authenticate")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", out)
	}
}
