package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// config is the example's configuration: environment variables, else a .env file in the
// working directory, else the defaults.
type config struct {
	// Issuer is the Paylent environment's issuer (PAYLENT_ISSUER).
	Issuer string
	// ClientID and ClientSecret are the confidential client's credentials, as
	// `paylent clients create ... --json` printed them (CLIENT_ID, CLIENT_SECRET).
	ClientID, ClientSecret string
	// ClientAddr is where the client web app listens (CLIENT_ADDR); ClientURL is how the
	// browser reaches it (CLIENT_URL, default http://localhost:<port of ClientAddr>). The
	// redirect URI is ClientURL + "/callback", the post-logout redirect URI ClientURL + "/".
	ClientAddr, ClientURL string
	// APIAddr is where the Documents API listens (API_ADDR); APIURL is how the client
	// reaches it (API_URL, default http://localhost:<port of APIAddr>).
	APIAddr, APIURL string
	// APIIdentifier is the API's identifier as registered with `paylent apis create`: the
	// aud of its tokens (API_IDENTIFIER, default APIURL).
	APIIdentifier string
	// NATSURL is the NATS server carrying Paylent's events, for live revocation (NATS_URL;
	// "off" disables the subscription).
	NATSURL string
	// NATSCreds is the subscriber credentials file Paylent's NATS wants (NATS_CREDS): for the
	// embedded default, the NATS_CREDS line of `paylent nats credentials --role subscriber`.
	NATSCreds string
}

// defaults of the variables that have one.
var defaults = map[string]string{
	"PAYLENT_ISSUER": "http://examples-dev.localhost:4000",
	"CLIENT_ADDR":    ":3000",
	"API_ADDR":       ":4100",
	"NATS_URL":       "nats://127.0.0.1:4222",
}

// loadConfig reads the configuration through lookup (os.LookupEnv in main) and the .env
// file at dotenv (ignored when it does not exist). Every problem is reported at once.
func loadConfig(lookup func(string) (string, bool), dotenv string) (config, error) {
	file, err := readDotEnv(dotenv)
	if err != nil {
		return config{}, err
	}
	get := func(key string) string {
		if v, ok := lookup(key); ok && v != "" {
			return v
		}
		if v, ok := file[key]; ok && v != "" {
			return v
		}
		return defaults[key]
	}
	cfg := config{Issuer: strings.TrimSuffix(get("PAYLENT_ISSUER"), "/"), ClientID: get("CLIENT_ID"),
		ClientSecret: get("CLIENT_SECRET"), ClientAddr: get("CLIENT_ADDR"), ClientURL: get("CLIENT_URL"),
		APIAddr: get("API_ADDR"), APIURL: get("API_URL"), APIIdentifier: get("API_IDENTIFIER"), NATSURL: get("NATS_URL"),
		NATSCreds: get("NATS_CREDS")}
	if cfg.ClientURL == "" {
		cfg.ClientURL = localURL(cfg.ClientAddr)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = localURL(cfg.APIAddr)
	}
	cfg.ClientURL, cfg.APIURL = strings.TrimSuffix(cfg.ClientURL, "/"), strings.TrimSuffix(cfg.APIURL, "/")
	if cfg.APIIdentifier == "" {
		cfg.APIIdentifier = cfg.APIURL
	}
	return cfg, cfg.validate()
}

// validate reports every problem of cfg at once.
func (cfg config) validate() error {
	var errs []error
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		errs = append(errs, errors.New("CLIENT_ID and CLIENT_SECRET are required: register the client as README.md shows and put them in .env"))
	}
	for name, u := range map[string]string{"PAYLENT_ISSUER": cfg.Issuer, "CLIENT_URL": cfg.ClientURL, "API_URL": cfg.APIURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL, not %q", name, u))
		}
	}
	if _, err := environmentOf(cfg.Issuer); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	return nil
}

// environmentOf is the environment slug of a Paylent issuer: issuers are
// <scheme>://<slug>.<public domain>.
func environmentOf(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", fmt.Errorf("PAYLENT_ISSUER %q is not a URL", issuer)
	}
	slug, _, ok := strings.Cut(u.Hostname(), ".")
	if !ok || slug == "" {
		return "", fmt.Errorf("PAYLENT_ISSUER %q does not name an environment (<scheme>://<environment>.<domain>)", issuer)
	}
	return slug, nil
}

// localURL is http://localhost:<port> for a listen address such as ":3000".
func localURL(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return ""
	}
	return "http://localhost:" + port
}

// readDotEnv reads KEY=VALUE lines (blank lines, # comments, an "export " prefix and
// quotes around values allowed). A missing file is no error.
func readDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		vars[strings.TrimSpace(key)] = value
	}
	return vars, sc.Err()
}
