package dashboard

import (
	"bytes"
	"cmp"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// outboxEnvironmentHeader is workers.EnvironmentHeader: the header of a dev outbox file
// that names the mail's environment (api cannot import workers).
const outboxEnvironmentHeader = "X-Paylent-Environment"

// Bounds of one mailbox page: files looked at (newest first), mails shown, bytes read per
// file.
const (
	mailboxScan  = 500
	mailboxShow  = 100
	mailMaxBytes = 512 << 10
)

func (d *Dashboard) mountMailbox(r fiber.Router) {
	r.Get("/mailbox", page(d.Mailbox))
}

// outboxMail is one mail of the dev outbox.
type outboxMail struct {
	ID, To, Subject, Text string
	Date                  time.Time
}

// Mailbox serves GET /e/:env/mailbox: the mail the dev outbox holds for this environment
// (sign-up passcodes), newest first. Only when mail goes to the dev outbox, not over SMTP;
// mail without the environment header (written before it existed) is shown to no one.
func (d *Dashboard) Mailbox(c *fiber.Ctx, v *view) error {
	if d.Outbox == "" {
		return d.message(c, fiber.StatusNotFound, "Not found", "There is no such page.")
	}
	mails, err := readOutbox(d.Outbox, v.Env.Slug)
	if err != nil {
		d.Logger.Warn("dev outbox unreadable", "err", err)
		v.Error = "The dev outbox cannot be read right now."
	}
	v.Title, v.Section, v.Data = "Dev mailbox", "mailbox", mails
	return d.render(c, fiber.StatusOK, "mailbox.html", v)
}

// readOutbox returns the newest mails of dir that belong to env, newest first.
func readOutbox(dir, env string) ([]outboxMail, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".eml") {
			continue // the sender's temporary files, and anything that is not a plain file
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{e.Name(), info.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b file) int { return b.mod.Compare(a.mod) })
	var out []outboxMail
	for _, f := range files[:min(len(files), mailboxScan)] {
		if m, ok := readMail(filepath.Join(dir, f.name), env, f.mod); ok {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b outboxMail) int { return cmp.Compare(b.Date.UnixNano(), a.Date.UnixNano()) })
	return out[:min(len(out), mailboxShow)], nil
}

// readMail reads one outbox file if it is a mail of env; mod is the fallback date.
func readMail(path, env string, mod time.Time) (outboxMail, bool) {
	fh, err := os.Open(path)
	if err != nil {
		return outboxMail{}, false
	}
	defer fh.Close()
	raw, err := io.ReadAll(io.LimitReader(fh, mailMaxBytes))
	if err != nil {
		return outboxMail{}, false
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil || msg.Header.Get(outboxEnvironmentHeader) != env {
		return outboxMail{}, false
	}
	body, _ := io.ReadAll(msg.Body)
	dec := new(mime.WordDecoder)
	header := func(k string) string {
		v := msg.Header.Get(k)
		if s, err := dec.DecodeHeader(v); err == nil {
			return s
		}
		return v
	}
	date, err := msg.Header.Date()
	if err != nil {
		date = mod
	}
	return outboxMail{ID: strings.TrimSuffix(filepath.Base(path), ".eml"), To: header("To"), Subject: header("Subject"),
		Text: strings.ReplaceAll(string(body), "\r\n", "\n"), Date: date.UTC()}, true
}
