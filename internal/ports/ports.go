// Package ports finds a free TCP port on loopback for a listener that another process (a
// server under test, a private PostgreSQL) will bind a moment later.
package ports

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// Below Linux's ephemeral range (32768–60999 by default): the kernel never hands these out
// for a bind to port 0 or as a connection's source port, so between Free's check and the
// listener's bind only another caller of Free can take the port: never one in the same
// process (a port is handed out once per process), about 1 in 12,000 in another.
const (
	low  = 20000
	span = 12000
)

// given are the ports this process handed out: a test that starts many servers at once
// (three NATS nodes, each with a client, a route and a monitoring port) must not get one
// port twice before any of them binds it.
var given struct {
	sync.Mutex
	ports map[int]bool
}

// Free returns a TCP port on 127.0.0.1 that was free a moment ago and that no earlier call
// in this process returned.
func Free() (int, error) {
	given.Lock()
	defer given.Unlock()
	if given.ports == nil {
		given.ports = map[int]bool{}
	}
	for range 100 {
		p := low + rand.IntN(span)
		if given.ports[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		given.ports[p] = true
		return p, nil
	}
	return 0, errors.New("pick a free port: 100 tries found none")
}
