// Package tenant manages tenants and their Secret Tokens, and resolves the
// tenant and token of a SCIM request.
//
// A Secret Token looks like roster_<id>_<secret>: the id names the stored
// token row and the secret is 256 random bits, of which only a SHA-256 hash is
// stored and compared in constant time. A token supplied from outside (such as
// ROSTER_BOOTSTRAP_TOKEN) may have any form; its id is derived from its hash.
package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/store"
)

// TokenPrefix starts every token Roster issues, so secret scanners and people
// can recognise one.
const TokenPrefix = "roster_"

// ErrUnauthorized means the credential is missing, unknown, revoked, expired
// or belongs to another tenant. Callers must not say which.
var ErrUnauthorized = errors.New("invalid credentials")

// ErrDisabled means the tenant's SCIM endpoint is switched off.
var ErrDisabled = errors.New("provisioning is disabled for this tenant")

var slug = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// reserved are names that would be mistaken for SCIM endpoints on a shared URL.
var reserved = map[string]bool{
	"users": true, "groups": true, "schemas": true, "resourcetypes": true,
	"serviceproviderconfig": true, "bulk": true, ".search": true, "me": true,
}

// ValidName reports whether name can be a tenant name: a lower-case URL-safe
// slug that is not a SCIM endpoint name.
func ValidName(name string) error {
	if !slug.MatchString(name) {
		return fmt.Errorf("tenant name %q must be 1-63 lower-case letters, digits or inner hyphens", name)
	}
	if reserved[name] {
		return fmt.Errorf("tenant name %q is reserved for a SCIM endpoint", name)
	}
	return nil
}

// Service manages tenants and authenticates their requests.
type Service struct {
	store store.Store
	now   func() time.Time

	mu        sync.Mutex
	touched   map[string]time.Time // token id → last recorded use
	authCache map[[32]byte]authEntry
}

// New returns a Service over st.
func New(st store.Store) *Service {
	return &Service{store: st, now: time.Now, touched: map[string]time.Time{}, authCache: map[[32]byte]authEntry{}}
}

// Create creates a tenant.
func (s *Service) Create(ctx context.Context, name string) (store.Tenant, error) {
	if err := ValidName(name); err != nil {
		return store.Tenant{}, err
	}
	t := store.Tenant{ID: uuid.NewString(), Name: name, Created: s.now().UTC()}
	if err := s.store.Tenants().Create(ctx, t); err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant %q: %w", name, err)
	}
	return t, nil
}

// Issued is a newly issued token: the plaintext is shown once and never stored.
type Issued struct {
	Token     store.Token
	Plaintext string
}

// IssueToken issues a new Secret Token for a tenant. If plaintext is empty a
// random token is generated; otherwise plaintext becomes the token (for
// automation such as ROSTER_BOOTSTRAP_TOKEN).
func (s *Service) IssueToken(ctx context.Context, tenantID, label, plaintext string) (Issued, error) {
	var id string
	if plaintext == "" {
		idBytes := make([]byte, 8)
		secret := make([]byte, 32)
		rand.Read(idBytes)
		rand.Read(secret)
		id = hex.EncodeToString(idBytes)
		plaintext = TokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret)
	} else {
		if len(plaintext) < 16 {
			return Issued{}, errors.New("a token must be at least 16 characters long")
		}
		id = tokenID(plaintext)
	}
	tok := store.Token{
		ID: id, Tenant: tenantID, SecretHash: hash(plaintext),
		Label: label, Created: s.now().UTC(),
	}
	if err := s.store.Tokens().Create(ctx, tok); err != nil {
		return Issued{}, fmt.Errorf("issue token: %w", err)
	}
	return Issued{Token: tok, Plaintext: plaintext}, nil
}

// Bootstrap makes sure a tenant named name exists. When it creates it, it also
// issues its first token (plaintext, or a random one when empty) and returns
// it; on later starts it returns created=false and no token.
func (s *Service) Bootstrap(ctx context.Context, name, plaintext string) (t store.Tenant, issued *Issued, err error) {
	t, err = s.store.Tenants().GetByName(ctx, name)
	if err == nil {
		return t, nil, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return t, nil, fmt.Errorf("look up tenant %q: %w", name, err)
	}
	if t, err = s.Create(ctx, name); err != nil {
		return t, nil, err
	}
	iss, err := s.IssueToken(ctx, t.ID, "bootstrap", plaintext)
	if err != nil {
		return t, nil, err
	}
	return t, &iss, nil
}

// AuthCacheTTL is how long a successful authentication is remembered, so
// that a busy provisioning cycle does not read the tenant and token rows on
// every request. A revoked or expired token, or a tenant whose provisioning
// is switched off, is refused within this time on every node.
const AuthCacheTTL = time.Second

type authEntry struct {
	tenant store.Tenant
	token  store.Token
	at     time.Time
}

// Authenticate resolves the tenant named tenantName and checks that bearer is
// a live token of that tenant.
func (s *Service) Authenticate(ctx context.Context, tenantName, bearer string) (store.Tenant, store.Token, error) {
	if bearer == "" {
		return store.Tenant{}, store.Token{}, ErrUnauthorized
	}
	key := sha256.Sum256([]byte(tenantName + "\x00" + bearer))
	now := s.now()
	s.mu.Lock()
	e, ok := s.authCache[key]
	s.mu.Unlock()
	if ok && now.Sub(e.at) < AuthCacheTTL && (e.token.Expires.IsZero() || now.Before(e.token.Expires)) {
		return e.tenant, e.token, nil
	}
	t, tok, err := s.authenticate(ctx, tenantName, bearer)
	if err == nil {
		s.mu.Lock()
		if len(s.authCache) >= 10000 {
			clear(s.authCache)
		}
		s.authCache[key] = authEntry{tenant: t, token: tok, at: now}
		s.mu.Unlock()
	}
	return t, tok, err
}

func (s *Service) authenticate(ctx context.Context, tenantName, bearer string) (store.Tenant, store.Token, error) {
	if bearer == "" {
		return store.Tenant{}, store.Token{}, ErrUnauthorized
	}
	t, err := s.store.Tenants().GetByName(ctx, tenantName)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return t, store.Token{}, ErrUnauthorized
		}
		return t, store.Token{}, err
	}
	tok, err := s.store.Tokens().Get(ctx, tokenID(bearer))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return t, tok, ErrUnauthorized
		}
		return t, tok, err
	}
	now := s.now()
	ok := subtle.ConstantTimeCompare(tok.SecretHash, hash(bearer)) == 1 &&
		tok.Tenant == t.ID &&
		tok.Revoked.IsZero() &&
		(tok.Expires.IsZero() || now.Before(tok.Expires))
	if !ok {
		return t, tok, ErrUnauthorized
	}
	if t.SCIMDisabled {
		return t, tok, ErrDisabled
	}
	s.touch(tok.ID, now)
	return t, tok, nil
}

// touch records a token's last use at most once a minute, off the request
// path, so authentication never waits on a write.
func (s *Service) touch(id string, now time.Time) {
	s.mu.Lock()
	last, seen := s.touched[id]
	if seen && now.Sub(last) < time.Minute {
		s.mu.Unlock()
		return
	}
	s.touched[id] = now
	s.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.store.Tokens().Touch(ctx, id, now.UTC())
	}()
}

// tokenID returns the id part of a roster_<id>_<secret> token, or an id
// derived from the hash of any other token.
func tokenID(token string) string {
	if rest, ok := strings.CutPrefix(token, TokenPrefix); ok {
		if id, _, ok := strings.Cut(rest, "_"); ok && len(id) == 16 {
			return id
		}
	}
	h := sha256.Sum256([]byte(token))
	return "x" + hex.EncodeToString(h[:8])
}

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
