package projections_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paylent/paylent/projections"
)

// A caller never gets a position read before it arrived; concurrent callers share reads.
func TestHeadReaderNeverServesAnOlderRead(t *testing.T) {
	var committed, reads atomic.Int64
	r := projections.NewHeadReader(func(context.Context) (int64, error) {
		reads.Add(1)
		pos := committed.Load()
		time.Sleep(2 * time.Millisecond) // a slow query: commits land while it runs
		return pos, nil
	})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				before := committed.Add(1) // a commit that finished before this call
				got, err := r.Latest(context.Background())
				if err != nil || got < before {
					t.Errorf("read %d (%v) after commit %d", got, err, before)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := reads.Load(); n >= 16*50 {
		t.Errorf("%d reads for %d calls: reads were not shared", n, 16*50)
	}
}
