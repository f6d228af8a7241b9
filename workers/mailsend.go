package workers

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Mail is one message to deliver.
type Mail struct {
	ID      string // stable: the same mail always has the same id (Message-ID, file name)
	To      string
	Subject string
	Text    string
	// Environment is the environment the mail is about: the dev outbox records it in
	// EnvironmentHeader, so that the dashboard's Dev mailbox shows each environment only
	// its own mail.
	Environment string
}

// EnvironmentHeader carries Mail.Environment in the dev outbox's files (the dashboard's
// mailbox page reads it; api cannot import workers, so it spells the name out too).
const EnvironmentHeader = "X-Paylent-Environment"

// Sender delivers mail.
type Sender interface {
	Send(ctx context.Context, m Mail) error
}

// Outbox is the development sender: each mail becomes a file <id>.eml in Dir, which
// `paylent mail tail` shows. Writing the same mail twice keeps one file.
type Outbox struct {
	Dir  string
	From string
}

// Send implements Sender.
func (o Outbox) Send(_ context.Context, m Mail) error {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	final := filepath.Join(o.Dir, safeName(m.ID)+".eml")
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	tmp, err := os.CreateTemp(o.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(message(o.From, m, EnvironmentHeader)); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return os.Rename(tmp.Name(), final)
}

// SMTP sends through an SMTP server (smtp://[user:password@]host[:port]), with STARTTLS
// when the server offers it and PLAIN authentication when a user is given.
type SMTP struct {
	URL  *url.URL
	From string
}

// ParseSMTP reads PAYLENT_SMTP_URL.
func ParseSMTP(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return nil, errors.New("PAYLENT_SMTP_URL: want smtp://[user:password@]host[:port]")
	}
	return &SMTP{URL: u, From: from}, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m Mail) error {
	host, port := s.URL.Hostname(), s.URL.Port()
	if port == "" {
		port = "25"
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) //nolint:errcheck // best effort
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if u := s.URL.User; u != nil {
		pass, _ := u.Password()
		if err := c.Auth(smtp.PlainAuth("", u.Username(), pass, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(address(s.From)); err != nil {
		return fmt.Errorf("smtp from: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("smtp rcpt: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(message(s.From, m, "")); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}

// message renders a plain-text mail with a Message-ID derived from the mail's id, so that
// receivers can recognise a repeat. envHeader, when not empty, names the header that
// records the mail's environment (the dev outbox's; mail over SMTP does without).
func message(from string, m Mail, envHeader string) []byte {
	var b strings.Builder
	hdr := strings.NewReplacer("\r", " ", "\n", " ").Replace // no header injection
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@paylent>\r\nDate: %s\r\n",
		hdr(from), hdr(m.To), hdr(m.Subject), safeName(m.ID), time.Now().UTC().Format(time.RFC1123Z))
	if envHeader != "" && m.Environment != "" {
		fmt.Fprintf(&b, "%s: %s\r\n", envHeader, hdr(m.Environment))
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(m.Text, "\n", "\r\n"))
	return []byte(b.String())
}

func address(from string) string {
	if i, j := strings.LastIndexByte(from, '<'), strings.LastIndexByte(from, '>'); i >= 0 && j > i {
		return from[i+1 : j]
	}
	return from
}

func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, id)
}
