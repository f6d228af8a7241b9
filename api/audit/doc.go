// Package audit reads an environment's audit log: the filters (event type, actor, subject,
// time range) and the bounded scans, oldest or newest first, that the Management API
// (GET /api/v1/audit) and the dashboard's Audit log page share.
package audit
