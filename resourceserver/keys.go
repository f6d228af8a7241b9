package resourceserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// fetchTimeout bounds one discovery + JWKS fetch when the HTTP client sets no timeout.
const fetchTimeout = 10 * time.Second

// keySet is the JWKS as last fetched: immutable once published.
type keySet struct {
	keys    map[string]publicKey
	expires time.Time
}

// fetch is one discovery + JWKS fetch that any number of callers may wait for.
type fetch struct{ done chan struct{} }

// keyStore caches the issuer's metadata and keys. Reads are lock-free (atomic pointers);
// fetches run one at a time, at most one per interval, and every caller that needs one
// waits for the same fetch.
type keyStore struct {
	issuer   string
	client   *http.Client
	ttl      time.Duration
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	set  atomic.Pointer[keySet]
	meta atomic.Pointer[metadata]

	mu         sync.Mutex
	inflight   *fetch
	last       time.Time // when the last fetch started
	lastErr    error     // how the last fetch ended
	rediscover bool      // read discovery again on the next fetch (only touched by fetches)
}

// lookup returns the key named kid. Expired keys are refreshed in the background while the
// cached ones keep verifying; an unknown kid waits for a fetch unless one ran within the
// interval, so made-up kids cannot make the verifier hammer the issuer.
func (s *keyStore) lookup(ctx context.Context, kid string) (publicKey, error) {
	if set := s.set.Load(); set != nil {
		if s.now().After(set.expires) {
			s.start()
		}
		if k, ok := set.keys[kid]; ok {
			return k, nil
		}
	}
	if err := s.wait(ctx, s.start()); err != nil {
		return publicKey{}, err
	}
	set := s.set.Load()
	if set == nil {
		return publicKey{}, unavailable(s.lastError())
	}
	if k, ok := set.keys[kid]; ok {
		return k, nil
	}
	if err := s.failure(); err != nil {
		return publicKey{}, unavailable(err) // the key may exist: the JWKS could not be read
	}
	return publicKey{}, invalid(descUnknownKey)
}

// metadata returns the discovery document, fetching it if it was never read.
func (s *keyStore) metadata(ctx context.Context) (*metadata, error) {
	if m := s.meta.Load(); m != nil {
		return m, nil
	}
	if err := s.wait(ctx, s.start()); err != nil {
		return nil, err
	}
	if m := s.meta.Load(); m != nil {
		return m, nil
	}
	return nil, unavailable(s.lastError())
}

// wait waits for f (nil: no fetch was allowed) or for ctx.
func (s *keyStore) wait(ctx context.Context, f *fetch) error {
	if f == nil {
		return nil
	}
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// start begins a fetch, or returns the one in flight, or nil when the last one started
// less than an interval ago.
func (s *keyStore) start() *fetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight
	}
	now := s.now()
	interval := s.interval
	if set := s.set.Load(); set == nil || len(set.keys) == 0 {
		// No key at all yet (an environment a moment old): retry sooner; a second still
		// keeps a flood of tokens from hammering the issuer.
		interval = min(interval, time.Second)
	}
	if !s.last.IsZero() && now.Sub(s.last) < interval {
		return nil
	}
	f := &fetch{done: make(chan struct{})}
	s.inflight, s.last = f, now
	go s.run(f)
	return f
}

func (s *keyStore) run(f *fetch) {
	// Not the caller's context: one caller giving up must not fail the fetch for the others.
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	err := s.refresh(ctx)
	if err != nil {
		s.log.Warn("resourceserver: cannot fetch the issuer's keys", "issuer", s.issuer, "err", err)
	}
	s.mu.Lock()
	s.inflight, s.lastErr = nil, err
	s.mu.Unlock()
	close(f.done)
}

// refresh reads discovery (first time, or after a failure) and the JWKS.
func (s *keyStore) refresh(ctx context.Context) error {
	m := s.meta.Load()
	if m == nil || s.rediscover {
		fresh, err := discover(ctx, s.client, s.issuer)
		if err != nil {
			return err
		}
		m, s.rediscover = fresh, false
		s.meta.Store(m)
	}
	var raw json.RawMessage
	maxAge, ok, err := getJSON(ctx, s.client, m.JWKSURI, &raw)
	if err == nil {
		var keys map[string]publicKey
		var skipped []string
		if keys, skipped, err = parseJWKS(raw); err == nil {
			if len(skipped) > 0 {
				s.log.Warn("resourceserver: JWKS keys skipped", "issuer", s.issuer, "keys", skipped)
			}
			if !ok {
				maxAge = s.ttl
			}
			s.set.Store(&keySet{keys: keys, expires: s.now().Add(maxAge)})
			return nil
		}
	}
	s.rediscover = true // the jwks_uri may have moved
	return fmt.Errorf("jwks: %w", err)
}

// failure is how the last fetch failed, or nil if it succeeded.
func (s *keyStore) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *keyStore) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr == nil {
		return errNoKeys
	}
	return s.lastErr
}
