package dashboard

import "github.com/gofiber/fiber/v2"

func (d *Dashboard) mountSessions(r fiber.Router) {}
