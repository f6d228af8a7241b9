package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// One password policy whatever the face: the CLI and the Management API refuse what
// sign-up refuses (the dashboard's form: TestDashboardUsers).
func TestPasswordPolicyOnEveryFace(t *testing.T) {
	t.Parallel()
	s := sharedOne(t)
	for _, c := range []struct{ password, want string }{
		{"8chars!!", "password: must be at least 10 characters"},
		{"password123", "password: is one of the most common passwords"},
		{"weak@example.com", "password: must not be your email address"},
	} {
		code, out, errOut := cli(t, s.cliEnv, "users", "create", "--env", s.acme, "--email", "weak@example.com", "--name", "Weak",
			"--password", c.password)
		if code != 2 || !strings.Contains(errOut, c.want) || strings.Contains(out+errOut, c.password+" ") {
			t.Errorf("users create with %q: exit %d, want 2 with %q:\n%s%s", c.password, code, c.want, out, errOut)
		}
	}
	api := &mgmtClient{t: t, inst: s.a, env: s.acme, token: s.mgmtToken(t, s.acme, "admin:read admin:write admin:users")}
	st, hdr, body := api.call("POST", "/users", map[string]any{"email": "weak@example.com", "name": "Weak", "password": "8chars!!"})
	if st != 400 || body["error"] != "invalid_request" || body["field"] != "password" ||
		!strings.Contains(fmt.Sprint(body["message"]), "at least 10 characters") || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /users with a weak password: %d %v", st, body)
	}
	if st, _, body := api.call("GET", "/users?email=weak", nil); st != 200 || len(body["users"].([]any)) != 0 {
		t.Errorf("a refused user exists: %d %v", st, body)
	}
	// The policy's accepted passwords still go through every face.
	s.run(t, "users", "create", "--env", s.acme, "--email", "ok@example.com", "--name", "Ok", "--password", "ten chars!")
}

// peakRSS is a process's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// 200 concurrent failed logins at the real login endpoint of a real server process stay
// within the password hasher's budget: the server's peak RSS stays under 512 MiB, every
// answer is 401 (checked) or 503 (not checked, with Retry-After, recorded nowhere), never
// 500, and a legitimate login right after succeeds.
func TestLoginFloodStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	s := sharedOne(t) // rate limits are off: one address sends everything
	s.userJSON(t, s.acme, "ada@example.com", "Ada")
	s.userJSON(t, s.acme, "bob@example.com", "Bob")
	issuer := s.a.issuer(s.acme)
	pc := newPageClient(t, issuer)
	_, page := pc.do("GET", issuer+"/login", nil)
	csrf := fields(page).Get("_csrf")
	before := peakRSS(t, s.a.cmd.Process.Pid)

	// One browser's cookies, as many connections as requests.
	flood := &http.Client{Jar: pc.c.Jar, Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 200,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", s.a.port))
		}}}
	const n = 200
	type answer struct {
		status           int
		bob, retry, busy bool
		err              error
	}
	answers := make(chan answer, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Four wrong passwords for Bob among the strangers (fewer than lock an account).
			email := fmt.Sprintf("stranger%d@example.com", i)
			bob := i%50 == 7
			if bob {
				email = "bob@example.com"
			}
			form := url.Values{"_csrf": {csrf}, "email": {email}, "password": {"not the password"}}
			req, _ := http.NewRequest("POST", issuer+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", issuer)
			resp, err := flood.Do(req)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{status: resp.StatusCode, bob: bob, retry: resp.Header.Get("Retry-After") != "",
				busy: strings.Contains(string(b), "Too many sign-ins at once; try again in a moment")}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(answers)
	counts, bob401 := map[int]int{}, 0
	for a := range answers {
		if a.err != nil {
			t.Errorf("request failed: %v", a.err)
			continue
		}
		counts[a.status]++
		switch {
		case a.status == 401 && a.bob:
			bob401++
		case a.status == 503 && (!a.retry || !a.busy):
			t.Errorf("503 without Retry-After or the busy message")
		case a.status != 401 && a.status != 503:
			t.Errorf("answer %d", a.status)
		}
	}
	peak := peakRSS(t, s.a.cmd.Process.Pid)
	t.Logf("%d concurrent failed logins in %s: %v; server peak RSS (VmHWM) %d MiB before, %d MiB after",
		n, elapsed.Round(time.Millisecond), counts, before>>20, peak>>20)
	if peak > 512<<20 {
		t.Errorf("server peak RSS %d MiB, ceiling 512 MiB", peak>>20)
	}
	if counts[401] == 0 || counts[503] == 0 {
		t.Errorf("want both checked (401) and refused (503) answers beyond the budget: %v", counts)
	}
	// A 503 checked nothing and records nothing: Bob's recorded failures are his 401s.
	out := s.run(t, "events", "--env", s.acme)
	if got := strings.Count(out, `"type":"user.login_failed"`); got != bob401 {
		t.Errorf("%d failed logins recorded, want %d (Bob's 401 answers)", got, bob401)
	}
	// Right after, a legitimate login succeeds.
	if resp, page := pc.do("POST", issuer+"/login", url.Values{"_csrf": {csrf}, "email": {"ada@example.com"},
		"password": {"correct horse battery"}}); resp.StatusCode != 200 || !strings.Contains(page, "You are signed in") {
		t.Errorf("login after the flood: %d", resp.StatusCode)
	}
}
