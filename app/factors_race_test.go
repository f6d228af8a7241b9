package app_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain/factor"
)

// One code, sent many times at once (two browsers, two instances): exactly one use passes,
// every other is refused as a replay (and counts towards the lockout); the same for a
// recovery code in any spelling.
func TestConcurrentUsesOfOneCode(t *testing.T) {
	h := newHarness(t)
	ada := someUser(t, h, "ada@example.com")
	key, codes := enrolled(t, h, ada)
	race := func(code func(i int) string) (ok int, errs []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 4 { // fewer than the lockout: the refused ones count as failures
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := h.App.VerifySecondFactor(t.Context(), app.SecondFactorCheck{Environment: env, UserID: ada, Code: code(i), Browser: someone})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else {
					errs = append(errs, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		return ok, errs
	}
	next := codeAt(t, key, time.Now().Add(factor.Period))
	ok, errs := race(func(int) string { return next })
	if ok != 1 {
		t.Errorf("one TOTP code at once: %d passed, %v", ok, errs)
	}
	for _, err := range errs {
		if !errors.Is(err, app.ErrCodeReplayed) {
			t.Errorf("a concurrent replay: %v", err)
		}
	}
	spellings := []string{codes[0], strings.ToUpper(codes[0]), strings.ReplaceAll(codes[0], "-", " "), strings.ReplaceAll(codes[0], "-", "")}
	ok, errs = race(func(i int) string { return spellings[i%len(spellings)] })
	if ok != 1 {
		t.Errorf("one recovery code at once: %d passed, %v", ok, errs)
	}
}
