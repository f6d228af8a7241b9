package tenants_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/environment"
	"github.com/paylent/paylent/projections/catalog"
	"github.com/paylent/paylent/tenants"
)

func TestResolve(t *testing.T) {
	c := catalog.New()
	created := environment.Created{Environment: "acme-test", Account: "acme", Settings: environment.DefaultSettings("Acme test")}
	if err := c.Apply(domain.Record{Envelope: domain.Envelope{Position: 1, Environment: "acme-test", OccurredAt: time.Now()}, Event: created}); err != nil {
		t.Fatal(err)
	}
	d := tenants.NewDirectory(c, "localhost:4000", "http")
	for _, host := range []string{"acme-test.localhost:4000", "ACME-TEST.LocalHost:4000", "acme-test.localhost:4000."} {
		tn, err := d.Resolve(host)
		if err != nil || tn.Slug != "acme-test" || tn.Account != "acme" || tn.Issuer != "http://acme-test.localhost:4000" {
			t.Errorf("%s: %+v %v", host, tn, err)
		}
		if tn.Settings.AccessTokenLifetime != 3600 {
			t.Errorf("settings not carried: %+v", tn.Settings)
		}
	}
	for _, host := range []string{"other.localhost:4000", "acme-test.localhost", "acme-test.localhost:4001",
		"localhost:4000", "x.acme-test.localhost:4000", ".localhost:4000", "acme-test.evil.com", ""} {
		if _, err := d.Resolve(host); !errors.Is(err, tenants.ErrUnknownHost) {
			t.Errorf("%q resolved: %v", host, err)
		}
	}
	if d.DashboardHost() != "dashboard.localhost:4000" {
		t.Error(d.DashboardHost())
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"acme-test.localhost:4000", "ACME-TEST.localhost:4000.", "a.b.localhost:4000", ".localhost:4000", "localhost:4000", "\x00.localhost:4000"} {
		f.Add(s)
	}
	d := tenants.NewDirectory(catalog.New(), "localhost:4000", "http")
	f.Fuzz(func(t *testing.T, host string) {
		label, ok := d.Label(host)
		if !ok {
			return
		}
		if label == "" || strings.Contains(label, ".") {
			t.Fatalf("%q gave label %q", host, label)
		}
		if _, err := d.Resolve(host); !errors.Is(err, tenants.ErrUnknownHost) {
			t.Fatalf("%q resolved in an empty catalog: %v", host, err)
		}
	})
}
