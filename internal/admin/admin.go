// Package admin manages the people who run Roster: admin accounts with
// roles, their passwords (argon2id) and sign-in sessions, and what each role
// may do.
package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/store"
)

// SessionLifetime is how long a sign-in lasts.
const SessionLifetime = 12 * time.Hour

// ErrUnauthorized means the name, password or session is wrong or expired.
var ErrUnauthorized = errors.New("invalid admin credentials")

// ErrInvalid wraps errors in what a caller asked for.
var ErrInvalid = errors.New("invalid request")

// Permission is something an admin may be allowed to do.
type Permission int

// Permissions, checked by Allowed.
const (
	ReadTenants       Permission = iota // list and show tenants
	ReadDirectory                       // read a tenant's users and groups
	ReadHistory                         // read the audit log and history
	ManageTenants                       // create, switch, configure and delete tenants
	ManageCredentials                   // issue, reveal and revoke tokens, JWTs and OAuth clients
	ManageAdmins                        // create admins and set their passwords and roles
	// ReadJobs reads provisioning jobs (their secrets redacted), their
	// cycles and links. Their per-object logs, which hold attribute values
	// as the history does, need ReadHistory as well.
	ReadJobs
	// ManageJobs creates, changes, deletes, starts, stops and runs
	// provisioning jobs, tests their connections and deletes their links:
	// a job holds credentials to other systems and writes to them.
	ManageJobs
)

var grants = map[string][]Permission{
	store.RoleSuperAdmin: {ReadTenants, ReadDirectory, ReadHistory, ManageTenants, ManageCredentials, ManageAdmins, ReadJobs, ManageJobs},
	store.RoleAdmin:      {ReadTenants, ReadDirectory, ReadHistory, ReadJobs},
	store.RoleReadOnly:   {ReadTenants, ReadDirectory, ReadJobs},
}

// Allowed reports whether role grants p.
func Allowed(role string, p Permission) bool {
	for _, g := range grants[role] {
		if g == p {
			return true
		}
	}
	return false
}

// ValidRole reports whether role is one of the known roles.
func ValidRole(role string) error {
	if _, ok := grants[role]; !ok {
		return fmt.Errorf("%w: role %q is not one of %s, %s, %s", ErrInvalid, role, store.RoleSuperAdmin, store.RoleAdmin, store.RoleReadOnly)
	}
	return nil
}

// View is the JSON shape of an admin, for the admin API and the CLI.
type View struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// ViewOf returns the view of a.
func ViewOf(a store.Admin) View { return View{Name: a.Name, Role: a.Role, Created: a.Created} }

// Service manages admins.
type Service struct {
	store store.Store
	now   func() time.Time
	// dummyHash is checked against when a name is unknown, so that a
	// wrong name takes as long as a wrong password.
	dummyHash string
}

// New returns a Service over st.
func New(st store.Store) *Service {
	h, _ := credential.HashPassword("an unused password to spend time on")
	return &Service{store: st, now: time.Now, dummyHash: h}
}

// Create creates an admin.
func (s *Service) Create(ctx context.Context, name, password, role, actor string) (store.Admin, error) {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, ": ") || !store.WellFormed(name) {
		return store.Admin{}, fmt.Errorf("%w: an admin name must be 1-128 characters without spaces, colons or control characters", ErrInvalid)
	}
	if err := ValidRole(role); err != nil {
		return store.Admin{}, err
	}
	if err := credential.ValidatePassword(password); err != nil {
		return store.Admin{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	hash, err := credential.HashPassword(password)
	if err != nil {
		return store.Admin{}, err
	}
	a := store.Admin{ID: uuid.NewString(), Name: name, PasswordHash: hash, Role: role, Created: s.now().UTC()}
	err = s.change(ctx, actor, "admin.create", name, map[string]any{"role": role}, func(w store.Writer) error {
		if err := w.Admins().Create(ctx, a); err != nil {
			return fmt.Errorf("create admin %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return store.Admin{}, err
	}
	return a, nil
}

// change runs fn and records the action on the admin named target in one
// transaction.
func (s *Service) change(ctx context.Context, actor, action, target string, detail map[string]any, fn func(w store.Writer) error) error {
	now := s.now().UTC()
	return s.store.Write(ctx, func(w store.Writer) error {
		if err := fn(w); err != nil {
			return err
		}
		return audit.Record(ctx, w, now, audit.Action{Actor: actor, Action: action, Target: target, Detail: detail})
	})
}

// adminIn reads the admin named name inside a write.
func adminIn(ctx context.Context, w store.Writer, name string) (store.Admin, error) {
	a, err := w.Admins().GetByName(ctx, name)
	if err != nil {
		return a, fmt.Errorf("admin %q: %w", name, err)
	}
	return a, nil
}

// List returns every admin by name.
func (s *Service) List(ctx context.Context) ([]store.Admin, error) { return s.store.Admins().List(ctx) }

// Get returns the admin with the given name.
func (s *Service) Get(ctx context.Context, name string) (store.Admin, error) {
	a, err := s.store.Admins().GetByName(ctx, name)
	if err != nil {
		return a, fmt.Errorf("admin %q: %w", name, err)
	}
	return a, nil
}

// SetPassword changes an admin's password and ends their sessions. It is
// for super admins and the operator's CLI; an admin changing their own
// password uses ChangePassword, which asks for the current one.
func (s *Service) SetPassword(ctx context.Context, name, password, actor string) error {
	return s.setPassword(ctx, name, password, actor, "")
}

// ChangePassword changes the password of the admin named name, who gives
// their current password as proof, and ends their sessions. A wrong current
// password is ErrUnauthorized, so that a stolen session alone cannot take
// over the account by changing its password.
func (s *Service) ChangePassword(ctx context.Context, name, current, next string) error {
	// The new password is checked first: a refusal then costs no hash.
	if err := credential.ValidatePassword(next); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	a, err := s.CheckPassword(ctx, name, current)
	if err != nil {
		return err
	}
	return s.setPassword(ctx, name, next, name, a.PasswordHash)
}

// setPassword hashes password and stores it for the admin named name. A
// non-empty was is the hash the caller checked the current password
// against: if it has changed since, the password given is no longer the
// current one, and nothing is written.
func (s *Service) setPassword(ctx context.Context, name, password, actor, was string) error {
	if err := credential.ValidatePassword(password); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	hash, err := credential.HashPassword(password)
	if err != nil {
		return err
	}
	return s.change(ctx, actor, "admin.passwd", name, nil, func(w store.Writer) error {
		a, err := adminIn(ctx, w, name)
		if err != nil {
			return err
		}
		if was != "" && a.PasswordHash != was {
			return ErrUnauthorized
		}
		a.PasswordHash = hash
		if err := w.Admins().Update(ctx, a); err != nil {
			return fmt.Errorf("set password of admin %q: %w", name, err)
		}
		if err := w.Admins().DeleteSessions(ctx, a.ID, ""); err != nil {
			return fmt.Errorf("end sessions of admin %q: %w", name, err)
		}
		return nil
	})
}

// SetRole changes an admin's role.
func (s *Service) SetRole(ctx context.Context, name, role, actor string) error {
	if err := ValidRole(role); err != nil {
		return err
	}
	return s.change(ctx, actor, "admin.role", name, map[string]any{"role": role}, func(w store.Writer) error {
		a, err := adminIn(ctx, w, name)
		if err != nil {
			return err
		}
		a.Role = role
		if err := w.Admins().Update(ctx, a); err != nil {
			return fmt.Errorf("set role of admin %q: %w", name, err)
		}
		return nil
	})
}

// Delete removes an admin and ends their sessions.
func (s *Service) Delete(ctx context.Context, name, actor string) error {
	return s.change(ctx, actor, "admin.delete", name, nil, func(w store.Writer) error {
		a, err := adminIn(ctx, w, name)
		if err != nil {
			return err
		}
		if err := w.Admins().Delete(ctx, a.ID); err != nil {
			return fmt.Errorf("delete admin %q: %w", name, err)
		}
		return nil
	})
}

// CheckPassword returns the admin if name and password match. The argon2id
// check waits for one of the process's few password slots; if none comes
// free in time, the error wraps credential.ErrBusy.
func (s *Service) CheckPassword(ctx context.Context, name, password string) (store.Admin, error) {
	if !store.WellFormed(name) {
		// No admin has such a name (Create refuses control characters),
		// and PostgreSQL would fail the lookup instead of finding nothing.
		// The dummy hash keeps the answer as slow as for a real name.
		_, _ = credential.CheckPassword(ctx, s.dummyHash, password)
		return store.Admin{}, ErrUnauthorized
	}
	a, err := s.store.Admins().GetByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	hash := a.PasswordHash
	if err != nil {
		hash = s.dummyHash
	}
	ok, herr := credential.CheckPassword(ctx, hash, password)
	if herr != nil {
		return store.Admin{}, fmt.Errorf("check password of admin %q: %w", name, herr)
	}
	if err != nil || !ok {
		return store.Admin{}, ErrUnauthorized
	}
	return a, nil
}

// Session is a signed-in admin's bearer token, shown once.
type Session struct {
	Token   string
	Expires time.Time
	Admin   store.Admin
}

// Login checks name and password and starts a session.
func (s *Service) Login(ctx context.Context, name, password string) (Session, error) {
	a, err := s.CheckPassword(ctx, name, password)
	if err != nil {
		return Session{}, err
	}
	id, token := credential.NewSessionToken()
	now := s.now().UTC()
	sess := store.AdminSession{ID: id, Admin: a.ID, SecretHash: credential.Hash(token), Created: now, Expires: now.Add(SessionLifetime)}
	err = s.change(ctx, a.Name, "admin.login", a.Name, nil, func(w store.Writer) error {
		if err := w.Admins().CreateSession(ctx, sess); err != nil {
			return fmt.Errorf("start session of admin %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return Session{}, err
	}
	return Session{Token: token, Expires: sess.Expires, Admin: a}, nil
}

// PurgeExpired removes sessions that expired more than a day ago.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	return s.store.Admins().DeleteExpiredSessions(ctx, s.now().Add(-24*time.Hour))
}

// Logout ends the session a token belongs to.
func (s *Service) Logout(ctx context.Context, token string) error {
	// Signing out is not audited, as signing in is: a session that ends
	// changes no one's access.
	return s.store.Write(ctx, func(w store.Writer) error {
		return w.Admins().DeleteSessions(ctx, "", credential.TokenID(token))
	})
}

// Authenticate resolves the admin of an Authorization header: a session
// token from Login ("Bearer …") or, for scripts, name and password ("Basic …").
func (s *Service) Authenticate(ctx context.Context, authorization string) (store.Admin, error) {
	scheme, value, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	value = strings.TrimSpace(value)
	switch {
	case strings.EqualFold(scheme, "Bearer") && value != "":
		return s.session(ctx, value)
	case strings.EqualFold(scheme, "Basic") && value != "":
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return store.Admin{}, ErrUnauthorized
		}
		name, password, ok := strings.Cut(string(raw), ":")
		if !ok || strings.IndexByte(name, 0) >= 0 {
			return store.Admin{}, ErrUnauthorized
		}
		return s.CheckPassword(ctx, name, password)
	}
	return store.Admin{}, ErrUnauthorized
}

func (s *Service) session(ctx context.Context, token string) (store.Admin, error) {
	if !store.WellFormed(token) {
		return store.Admin{}, ErrUnauthorized // Roster issues no such token
	}
	sess, err := s.store.Admins().GetSession(ctx, credential.TokenID(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Admin{}, ErrUnauthorized
	}
	if err != nil {
		return store.Admin{}, err
	}
	if !credential.HashEqual(sess.SecretHash, credential.Hash(token)) || !s.now().Before(sess.Expires) {
		return store.Admin{}, ErrUnauthorized
	}
	a, err := s.store.Admins().Get(ctx, sess.Admin)
	if errors.Is(err, store.ErrNotFound) {
		return store.Admin{}, ErrUnauthorized
	}
	return a, err
}
