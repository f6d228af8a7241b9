// Package ports finds a free TCP port on loopback for a listener that another process (a
// server under test, a private PostgreSQL) will bind a moment later.
package ports

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// Below Linux's ephemeral range (32768–60999 by default): the kernel never hands these out
// for a bind to port 0 or as a connection's source port, so between Free's check and the
// listener's bind only another caller of Free can take the port (1 in 12,000).
const (
	low  = 20000
	span = 12000
)

// Free returns a TCP port on 127.0.0.1 that was free a moment ago.
func Free() (int, error) {
	for range 100 {
		p := low + rand.IntN(span)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		return p, nil
	}
	return 0, errors.New("pick a free port: 100 tries found none")
}
