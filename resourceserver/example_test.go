package resourceserver_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/paylent/paylent/resourceserver"
)

// An API protected with the net/http middleware. A request without a token is refused
// before any network traffic: New does no I/O, and keys are fetched on first use.
func Example() {
	verifier, err := resourceserver.New(resourceserver.Config{
		Issuer:   "http://examples-dev.localhost:4000",
		Audience: "http://localhost:4100",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /documents", verifier.RequireScope("docs:read")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims, _ := resourceserver.ClaimsFromContext(r.Context())
			fmt.Fprintf(w, "documents of %s\n", claims.Subject)
		})))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/documents", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="http://localhost:4100"
}

// Verify a token yourself, for a transport the middleware does not cover.
func ExampleVerifier_Authorize() {
	verifier, err := resourceserver.New(resourceserver.Config{
		Issuer:   "http://examples-dev.localhost:4000",
		Audience: "http://localhost:4100",
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = verifier.Authorize(context.Background(), "Bearer pat_opaque-token", "docs:read")
	var refusal *resourceserver.Error
	if errors.As(err, &refusal) {
		fmt.Println(refusal.Status, refusal.Code, "-", refusal.Description)
	}
	fmt.Println(errors.Is(err, resourceserver.ErrInvalidToken))
	// Output:
	// 401 invalid_token - opaque access tokens are not accepted
	// true
}

// How refusals are answered (RFC 6750 §3).
func ExampleVerifier_ErrorResponse() {
	verifier, _ := resourceserver.New(resourceserver.Config{
		Issuer:   "http://examples-dev.localhost:4000",
		Audience: "http://localhost:4100",
	})
	status, header, body := verifier.ErrorResponse(resourceserver.InsufficientScope("docs:write"))
	fmt.Println(status)
	fmt.Println(header.Get("WWW-Authenticate"))
	fmt.Println(string(body))
	// Output:
	// 403
	// Bearer realm="http://localhost:4100", error="insufficient_scope", error_description="the access token lacks a required scope", scope="docs:write"
	// {"error":"insufficient_scope","error_description":"the access token lacks a required scope","scope":"docs:write"}
}

func ExampleBearerToken() {
	for _, h := range []string{"Bearer eyJhbGciOi.eyJzdWIi.c2ln", "Basic dXNlcjpwYXNz", "Bearer "} {
		token, err := resourceserver.BearerToken(h)
		fmt.Printf("%q %v\n", token, err)
	}
	// Output:
	// "eyJhbGciOi.eyJzdWIi.c2ln" <nil>
	// "" no_token: a bearer token is required
	// "" invalid_request: the Authorization header is not a bearer token
}

// Refuse revoked JWTs within milliseconds: follow the environment's revocation events on
// the NATS server Paylent publishes to (PAYLENT_NATS_LISTEN for the embedded default), as the
// read-only subscriber: `paylent nats credentials --role subscriber` names its file.
func ExampleVerifier_WatchRevocations() {
	ctx := context.Background()
	verifier, err := resourceserver.New(resourceserver.Config{
		Issuer:             "http://examples-dev.localhost:4000",
		Audience:           "http://localhost:4100",
		HTTPClient:         loopbackClient(),
		RevocationLookback: time.Hour, // the environment's access-token lifetime
	})
	if err != nil {
		log.Fatal(err)
	}
	creds, err := resourceserver.NATSCredentials(".paylent/nats/credentials/subscriber.nk")
	if err != nil {
		log.Fatal(err)
	}
	nc, err := nats.Connect("nats://127.0.0.1:4222", creds, nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	watch, err := verifier.WatchRevocations(ctx, nc, "examples-dev")
	if err != nil {
		log.Fatal(err)
	}
	defer watch.Stop()
	if err := verifier.Prefetch(ctx); err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:4100", verifier.RequireScope("docs:read")(http.NotFoundHandler())))
}

// Accept opaque tokens (clients created with --token-format opaque) by introspection.
func ExampleIntrospection() {
	verifier, err := resourceserver.New(resourceserver.Config{
		Issuer:   "http://examples-dev.localhost:4000",
		Audience: "http://localhost:4100",
		Introspection: &resourceserver.Introspection{
			ClientID:     "the id of a confidential client",
			ClientSecret: "its secret",
			CacheTTL:     30 * time.Second,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := verifier.Verify(context.Background(), "pat_...")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Scopes)
}

// loopbackClient dials every *.localhost address on 127.0.0.1, as browsers do and Go does
// not: what a local Paylent on the default PAYLENT_PUBLIC_DOMAIN needs.
func loopbackClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if host == "localhost" || strings.HasSuffix(host, ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}
