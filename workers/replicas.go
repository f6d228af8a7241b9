package workers

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/paylent/paylent/domain"
)

// MaxAutoReplicas is the most replicas the automatic choice gives a stream or bucket: three
// copies survive the loss of any one server (a Raft group of three needs two).
const MaxAutoReplicas = 3

// ClusterSize estimates how many servers form the NATS cluster nc is (or will be) connected
// to: 1 for a server that is not part of a cluster; otherwise the distinct client addresses
// the client knows, those it was given (NATS_URL) and those the cluster advertises in its
// INFO (connect_urls). A server that advertises several addresses (listening on every
// interface of a machine with several) or none (no_advertise) makes this an estimate; set
// the replicas explicitly then. Before the first connection only the given addresses count.
func ClusterSize(nc *nats.Conn) int {
	if nc == nil {
		return 1
	}
	if nc.IsConnected() && nc.ConnectedClusterName() == "" {
		return 1
	}
	seen := map[string]bool{}
	for _, s := range nc.Servers() {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			seen[strings.ToLower(u.Host)] = true
		}
	}
	return max(1, len(seen))
}

// AutoReplicas is the replica count Paylent picks when the operator did not: the cluster's
// size, at most MaxAutoReplicas.
func AutoReplicas(nc *nats.Conn) int {
	return min(MaxAutoReplicas, ClusterSize(nc))
}

// streamReplicas resolves the replicas EnsureStream asks for. An explicit count is the
// operator's choice and is applied as is (also to scale down). Automatic (0) is
// AutoReplicas, but never fewer than the stream already has: a relay that connects while
// the cluster looks smaller than it is (servers down, nothing discovered yet) must not take
// copies away.
func streamReplicas(ctx context.Context, js jetstream.JetStream, want int) (int, error) {
	if want > 0 {
		return want, nil
	}
	auto := AutoReplicas(js.Conn())
	st, err := js.Stream(ctx, domain.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return auto, nil
	}
	if err != nil {
		return 0, err
	}
	return max(auto, st.CachedInfo().Config.Replicas), nil
}
