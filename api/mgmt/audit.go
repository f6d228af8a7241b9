package mgmt

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/tenants"
)

// auditScan bounds how many events one audit request reads.
const auditScan = 20_000

// Audit serves GET /api/v1/audit: the environment's events, oldest first after cursor (a
// position), filtered by type (exact, or a prefix ending in "."), actor id, subject (a
// stream, or the id at its end) and occurred_at range (from/to, RFC 3339). next_cursor
// continues the scan; it is present while more of the log remains.
func (h *Handlers) Audit(c *fiber.Ctx, t tenants.Tenant) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	limit, err := strconv.Atoi(c.Query("limit", "100"))
	if err != nil || limit < 1 || limit > 1000 {
		return invalid("limit", "must be 1 to 1000")
	}
	pos := f.after
	out := []domain.Envelope{}
	for scanned := 0; scanned < auditScan && len(out) < limit; {
		batch, err := h.Store.ReadEnvironment(c.UserContext(), t.Slug, pos, 1000)
		if err != nil {
			return err
		}
		for _, e := range batch {
			pos = e.Position
			if f.match(e) {
				out = append(out, e)
				if len(out) == limit {
					break
				}
			}
		}
		scanned += len(batch)
		if len(batch) < 1000 && len(out) < limit {
			return c.JSON(fiber.Map{"events": out})
		}
	}
	return c.JSON(fiber.Map{"events": out, "next_cursor": pos})
}

type filter struct {
	after               int64
	typ, actor, subject string
	from, to            time.Time
}

func auditFilter(c *fiber.Ctx) (filter, error) {
	var f filter
	var err error
	if v := c.Query("cursor"); v != "" {
		if f.after, err = strconv.ParseInt(v, 10, 64); err != nil || f.after < 0 {
			return f, invalid("cursor", "must be a position")
		}
	}
	for name, dst := range map[string]*time.Time{"from": &f.from, "to": &f.to} {
		if v := c.Query(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				return f, invalid(name, "must be an RFC 3339 time")
			}
		}
	}
	f.typ, f.actor, f.subject = c.Query("type"), c.Query("actor"), c.Query("subject")
	return f, nil
}

func (f filter) match(e domain.Envelope) bool {
	switch {
	case f.typ != "" && e.Type != f.typ && !(strings.HasSuffix(f.typ, ".") && strings.HasPrefix(e.Type, f.typ)):
		return false
	case f.subject != "" && e.Stream != f.subject && !strings.HasSuffix(e.Stream, "/"+f.subject):
		return false
	case !f.from.IsZero() && e.OccurredAt.Before(f.from), !f.to.IsZero() && e.OccurredAt.After(f.to):
		return false
	case f.actor != "":
		var a domain.Actor
		if json.Unmarshal(e.Actor, &a) != nil || a.ID != f.actor {
			return false
		}
	}
	return true
}
