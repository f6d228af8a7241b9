package main_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// An operator adds a colleague (a new address gets a generated password, shown once), who
// signs in and manages the account; removing them ends their access at once; an account
// keeps at least one operator.
func TestDashboardOperators(t *testing.T) {
	t.Parallel()
	s := sharedStack(t)
	owner := newDash(t, s.a)
	ownerEmail, ownerPassword := s.operator(t, s.account, "ops@acme.example")
	owner.signIn(ownerEmail, ownerPassword)
	base := "/e/" + s.acme + "/operators"
	if code, page := owner.get(base); code != http.StatusOK || !strings.Contains(page, ownerEmail) || !strings.Contains(page, ">you<") {
		t.Fatalf("operators page: %d", code)
	}
	if resp, page := owner.post(base, url.Values{"email": {"not an address"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `role="alert"`) {
		t.Fatalf("bad address: %d", resp.StatusCode)
	}
	resp, page := owner.post(base, url.Values{"email": {"Two@Acme.example"}, "name": {"Second Operator"}})
	m := regexp.MustCompile(`id="operator-password" value="([^"]+)"`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || m == nil || !strings.Contains(page, "two@acme.example") {
		t.Fatalf("add: %d\n%.500s", resp.StatusCode, page)
	}
	if _, page := owner.get(base); strings.Contains(page, m[1]) {
		t.Fatal("the password is shown again")
	}
	two := newDash(t, s.b)
	two.signIn("two@acme.example", m[1])
	if code, _ := two.get("/e/" + s.acme + "/clients"); code != http.StatusOK {
		t.Fatalf("the new operator cannot open "+s.acme+": %d", code)
	}
	if code, _ := two.get("/e/" + s.other + "/clients"); code != http.StatusNotFound {
		t.Fatalf("the new operator opens another account's environment: %d", code)
	}
	// Adding an existing operator again shows no password (theirs is theirs).
	if _, page := owner.post(base, url.Values{"email": {"two@acme.example"}}); strings.Contains(page, `id="operator-password"`) {
		t.Error("a password was generated for an existing operator")
	}

	_, page = owner.get(base)
	twoID := regexp.MustCompile(`/operators/([^/"]+)/remove" aria-label="Remove operator two@acme.example"`).FindStringSubmatch(page)
	if twoID == nil {
		t.Fatalf("no remove link for two:\n%s", page)
	}
	if code, page := owner.get(base + "/" + twoID[1] + "/remove"); code != http.StatusOK || !strings.Contains(page, "confirm-remove") {
		t.Fatalf("confirm: %d", code)
	}
	if resp, _ := owner.post(base+"/"+twoID[1]+"/remove", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	if code, _ := two.get("/e/" + s.acme + "/clients"); code != http.StatusNotFound {
		t.Errorf("a removed operator still opens "+s.acme+": %d", code)
	}
	// The last operator stays.
	_, page = owner.get(base)
	self := regexp.MustCompile(`/operators/([^/"]+)/remove"`).FindStringSubmatch(page)
	if resp, page := owner.post(base+"/"+self[1]+"/remove", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "at least one operator") {
		t.Errorf("removing the last operator: %d", resp.StatusCode)
	}
	if code, _ := owner.get("/e/" + s.acme + "/clients"); code != http.StatusOK {
		t.Errorf("the last operator lost access: %d", code)
	}
	// The CLI sees and keeps the same rules.
	var listed []map[string]string
	if err := json.Unmarshal([]byte(s.run(t, "operators", "list", "--account", s.account, "--json")), &listed); err != nil ||
		len(listed) != 1 || listed[0]["email"] != ownerEmail {
		t.Errorf("operators list: %v %v", listed, err)
	}
	if code, _, errOut := cli(t, s.cliEnv, "operators", "remove", "--account", s.account, "--email", ownerEmail); code != 1 ||
		!strings.Contains(errOut, "at least one operator") {
		t.Errorf("CLI removed the last operator: %d %s", code, errOut)
	}
	if code, _, errOut := cli(t, s.cliEnv, "operators", "create", "--account", "paylent", "--email", "root@example.com"); code != 1 ||
		!strings.Contains(errOut, "has no operators") {
		t.Errorf("an operator of the operators' account: %d %s", code, errOut)
	}
	out := s.run(t, "events", "--env", "_system")
	var mine []string // the system log holds every account's events
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"stream":"account/`+s.account+`"`) {
			mine = append(mine, line)
		}
	}
	ours := strings.Join(mine, "\n")
	if strings.Count(ours, `"type":"account.operator_added"`) != 2 || strings.Count(ours, `"type":"account.operator_removed"`) != 1 ||
		strings.Contains(out, m[1]) {
		t.Errorf("account events:\n%s", out)
	}
}
