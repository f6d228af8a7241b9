// Package ratelimit enforces request limits that hold across every Paylent instance, with
// the ledgers kept in a NATS JetStream key/value bucket (PAYLENT_RATELIMITS) shared by
// all of them.
//
// # Why not fiber's limiter over a shared store
//
// fiber's limiter reads a counter from its storage and writes it back. Over a shared
// store (gofiber/storage/nats or postgres) that is a get-then-set: two instances read 9,
// both admit, both write 10, and the limit leaks by one per concurrent instance, without
// bound under load. NATS KV gives what it lacks, compare-and-set: Create succeeds only
// if the key does not exist and Update only if the key is still at the revision that was
// read. Every decision here is read → decide → Create/Update with that revision, and a
// lost race is decided again from the winner's state, with jittered back-off. Within one
// process, requests for the same key queue on a local lock first, so the race is at most
// one writer per instance and rarely takes more than a second round. Should 10 rounds all
// lose, the request is refused with Retry-After 1 s: a key that hot is being flooded, and
// refusing keeps the bound where admitting would break it. An admitted request costs two
// round trips to NATS (read, then Create or Update); a refused one none, once cached.
//
// # Algorithm and bound
//
// Each key holds a sliding log: the instants (Unix ms) at which requests were admitted.
// A request is admitted only if fewer than limit instants lie within the last window, so
// no interval of length window — wherever it starts — ever contains more than limit
// admitted requests. There is no window edge to burst across, which a fixed window
// counter allows (2×limit around the edge) and a two-window weighted estimate only
// approximates. Refused requests are not logged: a client that keeps hammering gets its
// quota back as its old requests age, as Retry-After says. Quota returns gradually, so
// Decision.Reset (RateLimit-Reset) is when the next unit returns; on a refusal it equals
// Retry-After. A log holds at most min(limit, 256) slots: above a limit of 256 requests
// are grouped into window/256 slots, stamped with the slot's end, which keeps the bound
// and costs a refused caller at most one slot of extra waiting. Values are a few bytes
// per slot (a 10/60 s log is at most ~45 bytes).
//
// The bound is exact up to two things outside one process: the instances' clocks (a
// skew of s lets an interval of window−s hold limit requests; run NTP), and the bucket
// itself (a bucket on memory storage forgets every log when NATS restarts).
//
// A refusal also lands in a per-process cache until the moment the log frees a slot.
// That cache is exact too: while a log is full no instance can add to it, so nothing can
// change the answer earlier. Floods of refused requests are thus answered without a
// round trip to NATS.
//
// # The bucket
//
// Created when missing with history 1 (only the latest log matters), a TTL equal to the
// longest window supported (Options.MaxWindow, 1 h: a key untouched that long has only
// expired entries, and client IPs are kept no longer), file storage by default (the logs
// survive a NATS restart, so limits stay honest across it; JetStream does not sync each
// write, so the cost over memory is small), and Options.Replicas replicas in a cluster.
//
// # When NATS is unavailable
//
// Allow returns ErrUnavailable after Options.Timeout (500 ms), or at once while the NATS
// connection is down; after a failure the store is left alone for Options.Pause (1 s).
// Middleware never turns this into a 500; MiddlewareConfig.FailOpen decides, per use:
//
//   - open: each instance enforces the same limit on its own (a per-process log), so a
//     NATS outage loosens the bound to N×limit across N instances instead of removing it.
//   - closed (the zero value, the conservative default when nobody chose): refuse with
//     Retry-After 5 s.
//
// Paylent fails open for the token endpoint, login and the Management API alike: NATS
// is the fast path, not the truth, and an outage of it must not stop token issuance or
// sign-in (appends and reads keep working without it). Because failing open still
// limits per process, login keeps its brute-force protection at N×10 per minute per IP
// during an outage; failing closed would trade that small loosening for locking every
// user out.
//
// Keys may contain any bytes (IPv6 addresses have colons); see storeKey for how they are
// escaped into KV keys. PAYLENT_RATE_LIMITS=off maps to MiddlewareConfig.Disabled.
package ratelimit
