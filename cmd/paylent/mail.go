package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// mailTailCommand prints the dev outbox: every mail the embedded default "sent", oldest
// first, and with --follow the new ones as they arrive.
func mailTailCommand() verb {
	var follow bool
	v := newVerb("tail [--follow]", "show the dev outbox (mail sent without PAYLENT_SMTP_URL)",
		func(ctx context.Context, env *cliEnv) error { return mailTail(ctx, env, follow) })
	v.cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new mails until interrupted")
	return v
}

func mailTail(ctx context.Context, env *cliEnv, follow bool) error {
	if env.cfg.SMTPURL != "" {
		return fmt.Errorf("mail goes to %s (PAYLENT_SMTP_URL), not to the dev outbox", redactURL(env.cfg.SMTPURL))
	}
	dir := filepath.Join(env.cfg.DataDir, "outbox")
	seen := map[string]bool{}
	for {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		type mail struct {
			name string
			at   time.Time
		}
		var fresh []mail
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".eml") && !seen[e.Name()] {
				if info, err := e.Info(); err == nil {
					fresh = append(fresh, mail{e.Name(), info.ModTime()})
				}
			}
		}
		sort.Slice(fresh, func(i, j int) bool { return fresh[i].at.Before(fresh[j].at) })
		for _, m := range fresh {
			b, err := os.ReadFile(filepath.Join(dir, m.name))
			if err != nil {
				return err
			}
			seen[m.name] = true
			fmt.Fprintf(env.stdout, "----- %s\n%s\n", m.name, strings.ReplaceAll(string(b), "\r\n", "\n"))
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// redactURL drops the password of a URL for display.
func redactURL(raw string) string {
	if i := strings.Index(raw, "@"); i > 0 {
		if j := strings.Index(raw, "://"); j > 0 && j < i {
			return raw[:j+3] + "…@" + raw[i+1:]
		}
	}
	return raw
}
