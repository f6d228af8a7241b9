package catalog

import (
	"sort"
	"strings"
	"time"

	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/client"
	"github.com/paylent/paylent/domain/oauth"
	"github.com/paylent/paylent/domain/resource"
	"github.com/paylent/paylent/domain/scope"
	"github.com/paylent/paylent/domain/session"
	"github.com/paylent/paylent/domain/user"
	"github.com/paylent/paylent/projections"
)

// Client as the catalog shows it. It holds secret hashes, never secrets.
type Client struct {
	ID                 string          `json:"id"`
	Type               client.Type     `json:"type"`
	Settings           client.Settings `json:"settings"`
	SecretHash         string          `json:"secret_hash,omitempty"`
	PreviousSecretHash string          `json:"previous_secret_hash,omitempty"`
	PreviousValidUntil time.Time       `json:"previous_valid_until,omitzero"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
}

// Scope as the catalog shows it. API is the identifier of the API it belongs to.
type Scope struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Standard    bool      `json:"standard"`
	API         string    `json:"api,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
}

// API as the catalog shows it.
type API struct {
	Identifier string    `json:"identifier"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// User as the catalog shows it (with the password hash login verifies against).
type User struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	PasswordHash  string    `json:"password_hash"`
	EmailVerified bool      `json:"email_verified"`
	CreatedAt     time.Time `json:"created_at"`
	// Failures are the consecutive wrong passwords, in total and per source (reset by a
	// login or a new password); lockout is decided from them (domain/user.LoginFailures).
	Failures user.LoginFailures `json:"failures,omitzero"`
	Disabled bool               `json:"disabled,omitempty"`
	// PasswordChangedAt is the last password change (user.password_changed's at).
	PasswordChangedAt time.Time `json:"password_changed_at,omitzero"`
	// SignInsEndedAt is the last end of the user's sign-ins (user.sign_ins_ended).
	SignInsEndedAt time.Time `json:"sign_ins_ended_at,omitzero"`
}

// applyEnvironmentScoped folds the events of aggregates that live inside an environment.
// Called with c.mu held.
func (c *Catalog) applyEnvironmentScoped(rec domain.Record) error {
	env, at := rec.Environment, rec.OccurredAt
	switch e := rec.Event.(type) {
	case scope.Created:
		projections.Inner(c.st.Scopes, env)[e.Name] = Scope{Name: e.Name, Description: e.Description, API: e.API, CreatedAt: at}
	case resource.Created:
		projections.Inner(c.st.APIs, env)[e.Identifier] = API{Identifier: e.Identifier, Name: e.Name, CreatedAt: at}
	case scope.Updated:
		scopes := projections.Inner(c.st.Scopes, env)
		if s, ok := scopes[e.Name]; ok {
			s.Description, s.API = e.Description, e.API
			scopes[e.Name] = s
		}
	case scope.Deleted:
		delete(projections.Inner(c.st.Scopes, env), e.Name)
	case client.Registered:
		projections.Inner(c.st.Clients, env)[e.ClientID] = Client{ID: e.ClientID, Type: e.Type, Settings: e.Settings,
			SecretHash: e.SecretHash, CreatedAt: at, UpdatedAt: at}
	case client.Updated, client.SecretRotated, client.Deleted:
		c.applyClientChange(rec)
	case user.Created:
		projections.Inner(c.st.Users, env)[e.UserID] = User{ID: e.UserID, Email: e.Email, Name: e.Name,
			PasswordHash: e.PasswordHash, EmailVerified: e.EmailVerified, CreatedAt: at}
		projections.Inner(c.st.UserEmails, env)[e.Email] = e.UserID
	case user.Updated:
		c.updateUser(env, rec.Stream, func(u *User) { u.Name = e.Name })
	case user.Disabled:
		c.updateUser(env, rec.Stream, func(u *User) { u.Disabled = true })
	case user.Enabled:
		c.updateUser(env, rec.Stream, func(u *User) { u.Disabled = false })
	case user.PasswordChanged:
		// The new password unlocks: the failures were against the old one.
		c.updateUser(env, rec.Stream, func(u *User) {
			u.PasswordHash, u.PasswordChangedAt, u.Failures = e.PasswordHash, e.At, user.LoginFailures{}
		})
	case user.PasswordRehashed:
		c.updateUser(env, rec.Stream, func(u *User) { u.PasswordHash = e.PasswordHash })
	case user.SignInsEnded:
		c.updateUser(env, rec.Stream, func(u *User) {
			if e.At.After(u.SignInsEndedAt) {
				u.SignInsEndedAt = e.At
			}
		})
	case user.Deleted:
		id := lastSegment(rec.Stream)
		if u, ok := c.st.Users[env][id]; ok {
			delete(c.st.Users[env], id)
			delete(c.st.UserEmails[env], u.Email)
		}
	case user.LoginFailed:
		id := lastSegment(rec.Stream)
		if u, ok := c.st.Users[env][id]; ok {
			u.Failures = u.Failures.Add(e.IP, at)
			c.st.Users[env][id] = u
		}
	case session.Started:
		if u, ok := c.st.Users[env][e.UserID]; ok && u.Failures.Total.Count > 0 {
			u.Failures = user.LoginFailures{}
			c.st.Users[env][e.UserID] = u
		}
	}
	return nil
}

func (c *Catalog) updateUser(env, stream string, f func(*User)) {
	id := lastSegment(stream)
	if u, ok := c.st.Users[env][id]; ok {
		f(&u)
		c.st.Users[env][id] = u
	}
}

func (c *Catalog) applyClientChange(rec domain.Record) {
	clients := projections.Inner(c.st.Clients, rec.Environment)
	id := lastSegment(rec.Stream)
	cl, ok := clients[id]
	if !ok {
		return
	}
	switch e := rec.Event.(type) {
	case client.Updated:
		cl.Settings = e.Settings
	case client.SecretRotated:
		cl.SecretHash, cl.PreviousSecretHash, cl.PreviousValidUntil = e.SecretHash, e.PreviousSecretHash, e.PreviousValidUntil
	case client.Deleted:
		delete(clients, id)
		return
	}
	cl.UpdatedAt = rec.OccurredAt
	clients[id] = cl
}

// lastSegment is the id at the end of a stream name (client/<env>/<id>).
func lastSegment(stream string) string {
	for i := len(stream) - 1; i >= 0; i-- {
		if stream[i] == '/' {
			return stream[i+1:]
		}
	}
	return stream
}

// Client returns a client of an environment.
func (c *Catalog) Client(env, id string) (Client, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cl, ok := c.st.Clients[env][id]
	return cl, ok
}

// Clients lists an environment's clients by id.
func (c *Catalog) Clients(env string) []Client {
	c.mu.RLock()
	out := make([]Client, 0, len(c.st.Clients[env]))
	for _, cl := range c.st.Clients[env] {
		out = append(out, cl)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Scope returns a scope of an environment, standard or custom.
func (c *Catalog) Scope(env, name string) (Scope, bool) {
	if d, ok := oauth.StandardScopes[name]; ok {
		return Scope{Name: name, Description: d, Standard: true}, true
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.st.Scopes[env][name]
	return s, ok
}

// Scopes lists an environment's scopes, standard ones first, then by name.
func (c *Catalog) Scopes(env string) []Scope {
	out := make([]Scope, 0, len(oauth.StandardScopes))
	for name, d := range oauth.StandardScopes {
		out = append(out, Scope{Name: name, Description: d, Standard: true})
	}
	c.mu.RLock()
	for _, s := range c.st.Scopes[env] {
		out = append(out, s)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Standard != out[j].Standard {
			return out[i].Standard
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// User returns a user of an environment.
func (c *Catalog) User(env, id string) (User, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, ok := c.st.Users[env][id]
	return u, ok
}

// UserByEmail finds a user by email, case-insensitively.
func (c *Catalog) UserByEmail(env, email string) (User, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.st.UserEmails[env][user.NormalizeEmail(email)]
	if !ok {
		return User{}, false
	}
	u, ok := c.st.Users[env][id]
	return u, ok
}

// API returns an environment's API by identifier.
func (c *Catalog) API(env, identifier string) (API, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.st.APIs[env][identifier]
	return a, ok
}

// APIs lists an environment's APIs by identifier.
func (c *Catalog) APIs(env string) []API {
	c.mu.RLock()
	out := make([]API, 0, len(c.st.APIs[env]))
	for _, a := range c.st.APIs[env] {
		out = append(out, a)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Identifier < out[j].Identifier })
	return out
}

// Users lists an environment's users ordered by email, after the email cursor, at most
// limit; emailPrefix filters (case-insensitive).
func (c *Catalog) Users(env, emailPrefix, after string, limit int) []User {
	c.mu.RLock()
	out := make([]User, 0, limit)
	for _, u := range c.st.Users[env] {
		if u.Email > after && strings.HasPrefix(u.Email, strings.ToLower(emailPrefix)) {
			out = append(out, u)
		}
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
