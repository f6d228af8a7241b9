package environment

import (
	"net/url"
	"time"

	"github.com/paylent/paylent/domain"
)

// TokenFormat is how access tokens are minted.
type TokenFormat string

// Token formats.
const (
	TokenJWT    TokenFormat = "jwt"
	TokenOpaque TokenFormat = "opaque"
)

// RateLimit allows Requests per window of WindowSeconds.
type RateLimit struct {
	Requests      int `json:"requests"`
	WindowSeconds int `json:"window_seconds"`
}

// Window is the limit's window as a duration.
func (r RateLimit) Window() time.Duration { return time.Duration(r.WindowSeconds) * time.Second }

// RateLimits are the environment's per-endpoint limits.
type RateLimits struct {
	// Token limits POST /oauth/token per client IP.
	Token RateLimit `json:"token"`
	// Login limits the login page per client IP.
	Login RateLimit `json:"login"`
	// Management limits the Management API per caller.
	Management RateLimit `json:"management"`
}

// Settings are an environment's tunables. Lifetimes are whole seconds.
type Settings struct {
	DisplayName          string      `json:"display_name"`
	LogoURL              string      `json:"logo_url,omitempty"`
	AccessTokenLifetime  int64       `json:"access_token_lifetime"`
	RefreshTokenLifetime int64       `json:"refresh_token_lifetime"`
	SessionLifetime      int64       `json:"session_lifetime"`
	RegistrationEnabled  bool        `json:"registration_enabled"`
	TokenFormat          TokenFormat `json:"token_format"`
	RateLimits           RateLimits  `json:"rate_limits"`
	// DefaultAPI is the audience of access tokens for custom scopes that belong to no API
	// ("" for none).
	DefaultAPI string `json:"default_api,omitempty"`
	// RequireSecondFactor makes every sign-in ask for a second factor: a user without one
	// sets up an authenticator app right after their password.
	RequireSecondFactor bool `json:"require_second_factor,omitempty"`
}

const day = 24 * 60 * 60

// DefaultSettings are the settings of a new environment.
func DefaultSettings(displayName string) Settings {
	return Settings{
		DisplayName:          displayName,
		AccessTokenLifetime:  3600,
		RefreshTokenLifetime: 30 * day,
		SessionLifetime:      30 * day,
		RegistrationEnabled:  true,
		TokenFormat:          TokenJWT,
		RateLimits: RateLimits{
			Token:      RateLimit{Requests: 10, WindowSeconds: 60},
			Login:      RateLimit{Requests: 10, WindowSeconds: 60},
			Management: RateLimit{Requests: 100, WindowSeconds: 60},
		},
	}
}

// AccessTokenTTL is the access token lifetime as a duration.
func (s Settings) AccessTokenTTL() time.Duration {
	return time.Duration(s.AccessTokenLifetime) * time.Second
}

// RefreshTokenTTL is the refresh token lifetime as a duration.
func (s Settings) RefreshTokenTTL() time.Duration {
	return time.Duration(s.RefreshTokenLifetime) * time.Second
}

// SessionTTL is the session lifetime as a duration.
func (s Settings) SessionTTL() time.Duration {
	return time.Duration(s.SessionLifetime) * time.Second
}

// Validate reports the first rule the settings break.
func (s Settings) Validate() error {
	switch {
	case s.DisplayName == "" || len(s.DisplayName) > 100:
		return domain.Invalid("display_name", "must be 1 to 100 characters")
	case s.DefaultAPI != "" && !absoluteURI(s.DefaultAPI):
		return domain.Invalid("default_api", "must be an API identifier (an absolute URI)")
	case !validLogo(s.LogoURL):
		return domain.Invalid("logo_url", "must be an https URL of at most 500 characters")
	case s.AccessTokenLifetime < 60 || s.AccessTokenLifetime > day:
		return domain.Invalid("access_token_lifetime", "must be between 60 and 86400 seconds")
	case s.RefreshTokenLifetime < 60 || s.RefreshTokenLifetime > 365*day:
		return domain.Invalid("refresh_token_lifetime", "must be between 60 seconds and 365 days")
	case s.SessionLifetime < 60 || s.SessionLifetime > 365*day:
		return domain.Invalid("session_lifetime", "must be between 60 seconds and 365 days")
	case s.TokenFormat != TokenJWT && s.TokenFormat != TokenOpaque:
		return domain.Invalid("token_format", "must be %q or %q", TokenJWT, TokenOpaque)
	}
	for name, l := range map[string]RateLimit{
		"rate_limits.token": s.RateLimits.Token, "rate_limits.login": s.RateLimits.Login,
		"rate_limits.management": s.RateLimits.Management,
	} {
		if l.Requests < 1 || l.Requests > 1_000_000 || l.WindowSeconds < 1 || l.WindowSeconds > 3600 {
			return domain.Invalid(name, "requests must be 1 to 1000000 and window_seconds 1 to 3600")
		}
	}
	return nil
}

// SettingsPatch changes some settings; nil fields stay as they are.
type SettingsPatch struct {
	DisplayName          *string      `json:"display_name,omitempty"`
	LogoURL              *string      `json:"logo_url,omitempty"`
	AccessTokenLifetime  *int64       `json:"access_token_lifetime,omitempty"`
	RefreshTokenLifetime *int64       `json:"refresh_token_lifetime,omitempty"`
	SessionLifetime      *int64       `json:"session_lifetime,omitempty"`
	RegistrationEnabled  *bool        `json:"registration_enabled,omitempty"`
	TokenFormat          *TokenFormat `json:"token_format,omitempty"`
	RateLimits           *RateLimits  `json:"rate_limits,omitempty"`
	DefaultAPI           *string      `json:"default_api,omitempty"`
	RequireSecondFactor  *bool        `json:"require_second_factor,omitempty"`
}

// Apply returns s with the patch applied.
func (p SettingsPatch) Apply(s Settings) Settings {
	if p.DisplayName != nil {
		s.DisplayName = *p.DisplayName
	}
	if p.LogoURL != nil {
		s.LogoURL = *p.LogoURL
	}
	if p.AccessTokenLifetime != nil {
		s.AccessTokenLifetime = *p.AccessTokenLifetime
	}
	if p.RefreshTokenLifetime != nil {
		s.RefreshTokenLifetime = *p.RefreshTokenLifetime
	}
	if p.SessionLifetime != nil {
		s.SessionLifetime = *p.SessionLifetime
	}
	if p.RegistrationEnabled != nil {
		s.RegistrationEnabled = *p.RegistrationEnabled
	}
	if p.TokenFormat != nil {
		s.TokenFormat = *p.TokenFormat
	}
	if p.RateLimits != nil {
		s.RateLimits = *p.RateLimits
	}
	if p.DefaultAPI != nil {
		s.DefaultAPI = *p.DefaultAPI
	}
	if p.RequireSecondFactor != nil {
		s.RequireSecondFactor = *p.RequireSecondFactor
	}
	return s
}

func validLogo(u string) bool {
	if u == "" {
		return true
	}
	p, err := url.Parse(u)
	return err == nil && len(u) <= 500 && p.Scheme == "https" && p.Host != "" && p.User == nil
}

func absoluteURI(u string) bool {
	p, err := url.Parse(u)
	return err == nil && len(u) <= 500 && p.IsAbs() && p.Host != ""
}
