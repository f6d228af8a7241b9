package dashboard

import "github.com/gofiber/fiber/v2"

func (d *Dashboard) mountSettings(r fiber.Router) {}
