// Package mgmt is the Management API (/api/v1 on each environment's host): JSON over HTTP
// for tenants' automation, authorized by access tokens of the same environment carrying
// admin:read, admin:write or admin:users (obtained by client credentials). Every write is a
// domain command through the command loop and answers the position of its last event
// (Paylent-Position); every read accepts min_position and waits, bounded, until the read
// model has caught up with it, so a create followed at once by a get never answers 404.
package mgmt
