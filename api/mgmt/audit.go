package mgmt

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/api/audit"
	"github.com/paylent/paylent/tenants"
)

// Audit serves GET /api/v1/audit: the environment's events filtered by type (exact, or a
// prefix ending in "."), actor id, subject (a stream, or the id at its end) and occurred_at
// range (from/to, RFC 3339). order=oldest (the default) reads forwards from after the cursor
// (a position); order=newest reads backwards from before it (no cursor: from the newest
// event). next_cursor continues the scan in the same order; it is present while more of the
// log remains. One request reads at most audit.MaxScan events. Credential material in the
// data (password hashes, sealed keys) is hidden; the events stream has the data as stored.
func (h *Handlers) Audit(c *fiber.Ctx, t tenants.Tenant) error {
	q, err := auditQuery(c)
	if err != nil {
		return err
	}
	page, err := audit.Scan(c.UserContext(), h.Store, t.Slug, q)
	if err != nil {
		return err
	}
	evs := audit.RedactEnvelopes(page.Events)
	if page.Next == 0 {
		return c.JSON(fiber.Map{"events": evs})
	}
	return c.JSON(fiber.Map{"events": evs, "next_cursor": page.Next})
}

// auditQuery reads the query parameters; a bad one is a 400 naming it.
func auditQuery(c *fiber.Ctx) (audit.Query, error) {
	var q audit.Query
	var err error
	if q.Filter, err = audit.ParseFilter(func(k string) string { return c.Query(k) }); err != nil {
		return q, err
	}
	if q.Order, err = audit.ParseOrder(c.Query("order")); err != nil {
		return q, err
	}
	if q.Cursor, err = audit.ParsePosition("cursor", c.Query("cursor")); err != nil {
		return q, err
	}
	if q.Limit, err = strconv.Atoi(c.Query("limit", "100")); err != nil || q.Limit < 1 || q.Limit > audit.MaxLimit {
		return q, invalid("limit", "must be 1 to %d", audit.MaxLimit)
	}
	return q, nil
}
