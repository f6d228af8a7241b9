// Package domain holds what every aggregate shares: the event envelope, the actor who caused
// a change, the registry that turns stored events back into typed values, and the domain's
// error sentinels. Aggregates live in sub-packages (domain/account, domain/environment, ...).
//
// Everything under domain is pure: no I/O, no clock, no hidden randomness.
package domain
