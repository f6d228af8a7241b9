package ports

import (
	"fmt"
	"net"
	"testing"
)

func TestFreeIsBindableAndBelowTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		if p < low || p >= low+span {
			t.Fatalf("port %d outside %d..%d", p, low, low+span)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		ln.Close()
		seen[p] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct ports in 50 picks: a port was handed out twice", len(seen))
	}
}
