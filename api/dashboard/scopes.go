package dashboard

import "github.com/gofiber/fiber/v2"

func (d *Dashboard) mountScopes(r fiber.Router) {}
