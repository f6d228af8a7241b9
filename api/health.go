package api

import (
	"context"
	"time"

	"log/slog"

	"github.com/gofiber/fiber/v2"
)

type health struct {
	checks []Check
	log    *slog.Logger
}

func (h *health) alive(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"status": "ok"})
}

// ready runs every check; the body names each check's result but never an internal error
// text (that goes to the log).
func (h *health) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	results := make(map[string]string, len(h.checks))
	ready := true
	for _, chk := range h.checks {
		if err := chk.Probe(ctx); err != nil {
			ready = false
			results[chk.Name] = "unavailable"
			h.log.Warn("readiness check failed", "check", chk.Name, "err", err)
			continue
		}
		results[chk.Name] = "ok"
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if !ready {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": results})
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": results})
}
