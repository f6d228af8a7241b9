package dashboard

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api/audit"
	"github.com/paylent/paylent/domain"
)

// Sizes of the audit pages: rows per page, and rows per live update.
const (
	auditPageSize = 50
	auditLiveSize = 100
)

func (d *Dashboard) mountAudit(r fiber.Router) {
	r.Get("/audit", page(d.Audit))
	r.Get("/audit/rows", page(d.AuditRows))
}

// auditForm is the filter form as typed: it refills the form and the paging links.
type auditForm struct {
	Type, Actor, Subject, From, To string
}

// auditRow is one event as the table shows it.
type auditRow struct {
	Position                    int64
	At                          time.Time
	ID, Type, Stream            string
	ActorKind, ActorID, IP, Via string
	Data                        string
	// Summary says in words what a sign-in or second-factor event did ("" for others).
	Summary string
}

// auditPage is the Audit log page's data.
type auditPage struct {
	Form     auditForm
	Filtered bool
	Rows     []auditRow
	// Older is the next page's link, Newest the first page's ("" when on it).
	Older, Newest string
	// Live is the rows endpoint polled for newer events (only on the first page), from
	// position After on.
	Live  string
	After int64
}

func auditBase(v *view) string { return "/e/" + v.Env.Slug + "/audit" }

// readAuditForm reads the filter parameters. The from/to inputs send local date-times
// ("2026-01-02T15:04:05", read as UTC); RFC 3339 is accepted too.
func readAuditForm(c *fiber.Ctx) auditForm {
	get := func(k string) string { return strings.TrimSpace(c.Query(k)) }
	return auditForm{Type: get("type"), Actor: get("actor"), Subject: get("subject"),
		From: formTime(get("from")), To: formTime(get("to"))}
}

// formTime turns a datetime-local value into RFC 3339 (UTC); anything else is kept for the
// parser to name the problem.
func formTime(s string) string {
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return s
}

// Input is a time as the datetime-local input shows it.
func (f auditForm) Input(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format("2006-01-02T15:04:05")
	}
	return s
}

func (f auditForm) filter() (audit.Filter, error) {
	return audit.ParseFilter(f.query().Get)
}

// query is the form as URL parameters (empty fields left out).
func (f auditForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"type": f.Type, "actor": f.Actor, "subject": f.Subject, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// link is path with the form's filters and one more parameter.
func (f auditForm) link(path, key string, pos int64) string {
	q := f.query()
	if key != "" {
		q.Set(key, strconv.FormatInt(pos, 10))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Audit serves GET /e/:env/audit: the environment's events, newest first, filtered, a page
// at a time (?before=POSITION is the next page); the first page updates itself (script).
func (d *Dashboard) Audit(c *fiber.Ctx, v *view) error {
	form := readAuditForm(c)
	p := auditPage{Form: form, Filtered: len(form.query()) > 0}
	v.Title, v.Section, v.Data = "Audit log", "audit", &p
	f, err := form.filter()
	var before int64
	if err == nil {
		before, err = audit.ParsePosition("before", c.Query("before"))
	}
	if err != nil {
		v.Error = d.problem(err)
		return d.render(c, fiber.StatusBadRequest, "audit.html", v)
	}
	page, err := audit.Scan(c.UserContext(), d.Store, v.Env.Slug, audit.Query{Filter: f, Order: audit.Newest, Cursor: before, Limit: auditPageSize})
	if err != nil {
		return err
	}
	p.Rows = auditRows(page.Events)
	if page.Next != 0 {
		p.Older = form.link(auditBase(v), "before", page.Next)
	}
	if before == 0 {
		p.Live, p.After = form.link(auditBase(v)+"/rows", "", 0), page.Newest
	} else {
		p.Newest = form.link(auditBase(v), "", 0)
	}
	return d.render(c, fiber.StatusOK, "audit.html", v)
}

// AuditRows serves GET /e/:env/audit/rows?after=POSITION&<filters>: the table rows of the
// matching events after POSITION, newest first, for the Audit log page's live updates.
// X-Audit-Cursor is the position to ask after next time (events up to it were looked at).
func (d *Dashboard) AuditRows(c *fiber.Ctx, v *view) error {
	form := readAuditForm(c)
	f, err := form.filter()
	var after int64
	if err == nil {
		after, err = audit.ParsePosition("after", c.Query("after"))
	}
	if err != nil {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(fiber.StatusBadRequest).SendString(d.problem(err))
	}
	page, err := audit.Scan(c.UserContext(), d.Store, v.Env.Slug, audit.Query{Filter: f, Order: audit.Oldest, Cursor: after, Limit: auditLiveSize})
	if err != nil {
		return err
	}
	rows := auditRows(page.Events)
	slices.Reverse(rows)
	var buf bytes.Buffer
	if err := pages["audit.html"].ExecuteTemplate(&buf, "auditrows", rows); err != nil {
		return err
	}
	c.Set("X-Audit-Cursor", strconv.FormatInt(max(after, page.Newest), 10))
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

// auditRows turns envelopes into rows: the actor decoded, the data indented with its
// credential material hidden.
func auditRows(evs []domain.Envelope) []auditRow {
	rows := make([]auditRow, 0, len(evs))
	for _, e := range evs {
		var a domain.Actor
		json.Unmarshal(e.Actor, &a) //nolint:errcheck // a stored actor is valid JSON; a broken one shows empty
		rows = append(rows, auditRow{Position: e.Position, At: e.OccurredAt, ID: e.ID, Type: e.Type, Stream: e.Stream,
			ActorKind: string(a.Kind), ActorID: a.ID, IP: a.IP, Via: a.UserAgent, Data: eventData(e.Data),
			Summary: summary(e.Type, e.Data)})
	}
	return rows
}

// eventData is an event's data as the page shows it: indented, with the value of every
// field that holds credential material replaced (audit.Redact).
func eventData(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return "(data not shown: not valid JSON)"
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // the template escapes
	enc.SetIndent("", "  ")
	if enc.Encode(audit.Redact(v)) != nil {
		return "(data not shown)"
	}
	return strings.TrimSuffix(out.String(), "\n")
}
