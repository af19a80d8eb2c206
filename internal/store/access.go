package store

import (
	"context"
	"time"
)

// Tenant is a customer organisation whose resources are kept apart.
type Tenant struct {
	ID      string
	Name    string // URL-safe slug, unique
	Created time.Time
	// SCIMDisabled switches the tenant's SCIM endpoint off without deleting data.
	SCIMDisabled bool
	Settings     TenantSettings
}

// TenantSettings are a tenant's configurable options. Backends store them
// as one JSON document; a zero value means Roster's defaults.
type TenantSettings struct {
	// JWT, when set, lets the tenant authenticate with JWTs signed by Roster
	// (HS256) or by the app (RS256, ES256).
	JWT *JWTSettings `json:"jwt,omitempty"`
	// IdP, when set, lets the tenant authenticate with JWTs its identity
	// provider issues itself (Entra ID sends one when the Secret Token box is
	// left blank).
	IdP *IdPSettings `json:"idp,omitempty"`
	// RateLimit caps the tenant's SCIM requests per second; 0 means the
	// server-wide default.
	RateLimit float64 `json:"rate_limit,omitempty"`
	// HistoryActor is the actor the revision history shows for changes
	// made by SCIM clients; empty means "Scim System User".
	HistoryActor string `json:"history_actor,omitempty"`
	// StorePasswords says what becomes of the User "password" a SCIM
	// client sends: StorePasswordsHash (the default, also when empty) keeps
	// a salted hash of it, StorePasswordsNone drops it.
	StorePasswords string `json:"store_passwords,omitempty"`
}

// The values of TenantSettings.StorePasswords.
const (
	StorePasswordsHash = "hash"
	StorePasswordsNone = "none"
)

// JWTSettings configure JWTs that Roster or the app signs.
type JWTSettings struct {
	Algorithm string `json:"alg"` // HS256, RS256 or ES256
	// Secret is the HS256 signing key, which Roster must keep in the clear
	// to verify signatures. Empty for RS256 and ES256.
	Secret []byte `json:"secret,omitempty"`
	// PublicKeyPEM verifies RS256 and ES256 signatures.
	PublicKeyPEM string `json:"public_key_pem,omitempty"`
	Issuer       string `json:"iss,omitempty"` // required iss claim, "" accepts any
	Audience     string `json:"aud"`           // required aud claim
}

// IdPSettings configure trust in JWTs the customer's identity provider
// issues. Keys come from JWKSURL or PublicKeyPEM.
type IdPSettings struct {
	Issuer       string `json:"iss"`
	Audience     string `json:"aud"`
	JWKSURL      string `json:"jwks_url,omitempty"`
	PublicKeyPEM string `json:"public_key_pem,omitempty"`
}

// Token is a tenant's bearer credential: a Secret Token, or an access token
// issued to an OAuth client. Only a hash of its secret is kept.
type Token struct {
	ID         string
	Tenant     string
	SecretHash []byte // SHA-256 of the token
	Label      string
	CreatedBy  string // the admin or "cli:<user>" that issued it
	ClientID   string // the OAuth client it was issued to; "" for a Secret Token
	Created    time.Time
	LastUsed   time.Time // zero if never used
	Expires    time.Time // zero if it never expires
	Revoked    time.Time // zero unless revoked
}

// OAuthClient is a client id and secret a tenant's identity provider trades
// for short-lived access tokens (OAuth 2.0 client credentials grant).
type OAuthClient struct {
	ID         string
	Tenant     string
	SecretHash []byte // SHA-256 of the client secret
	Label      string
	CreatedBy  string
	Created    time.Time
	Revoked    time.Time // zero unless revoked
}

// Admin roles, from most to least powerful.
const (
	RoleSuperAdmin = "super_admin" // tenants, credentials and admins
	RoleAdmin      = "admin"       // reads users, groups and history
	RoleReadOnly   = "read_only"   // reads tenants, users and groups
)

// Admin is a person who manages Roster through the admin API.
type Admin struct {
	ID           string
	Name         string // unique, case-sensitive
	PasswordHash string // PHC-format argon2id hash
	Role         string
	Created      time.Time
}

// AdminSession is a signed-in admin's bearer credential.
type AdminSession struct {
	ID         string
	Admin      string // Admin.ID
	SecretHash []byte
	Created    time.Time
	Expires    time.Time
}

// AuditEvent records who did what to which tenant's credentials or settings.
type AuditEvent struct {
	Seq    int64          `json:"seq"` // assigned by the store, ascending
	Time   time.Time      `json:"time"`
	Actor  string         `json:"actor"`            // admin name, "cli:<user>" or "system"
	Action string         `json:"action"`           // such as "token.issue", "tenant.disable"
	Tenant string         `json:"tenant,omitempty"` // tenant name, "" for server-wide actions
	Target string         `json:"target,omitempty"` // such as a token id or an admin name
	Detail map[string]any `json:"detail,omitempty"`
}

// AuditQuery selects audit events, newest last.
type AuditQuery struct {
	Tenant string // "" for all
	After  int64  // events with Seq > After
	Limit  int    // at most this many; 0 means 100
}

// TenantStore reads tenants; TenantWriter changes them.
type TenantStore interface {
	Get(ctx context.Context, id string) (Tenant, error)
	GetByName(ctx context.Context, name string) (Tenant, error)
	List(ctx context.Context) ([]Tenant, error)
	// PurgeDeleted removes what tenants deleted by TenantWriter.Delete
	// owned (resources, memberships, history, events), a batch per
	// transaction so that other tenants' writes run between them, and
	// returns once none is left. The backend also does it in the
	// background; calling it only waits for it. If ctx ends first, the
	// background work goes on.
	PurgeDeleted(ctx context.Context) error
}

// TenantWriter changes tenants inside a Write. Its reads lock the rows they
// return until the transaction ends, where the backend has row locks, so
// that read-modify-write in one transaction never loses a concurrent change.
type TenantWriter interface {
	Create(ctx context.Context, t Tenant) error // ErrConflict on a duplicate id or name
	Get(ctx context.Context, id string) (Tenant, error)
	GetByName(ctx context.Context, name string) (Tenant, error)
	// List returns every tenant by name, for a check across tenants that
	// concurrent transactions must not both pass.
	List(ctx context.Context) ([]Tenant, error)
	// SetSCIMDisabled switches a tenant's SCIM endpoint off (true) or on.
	SetSCIMDisabled(ctx context.Context, id string, disabled bool) error
	// SetSettings replaces a tenant's settings.
	SetSettings(ctx context.Context, id string, s TenantSettings) error
	// Delete removes the tenant with its tokens, OAuth clients and webhook
	// endpoints; once the transaction commits, the tenant is gone for every
	// reader and no write can add rows to it. What else it owned is
	// removed after the commit (see TenantStore.PurgeDeleted). Its audit
	// events stay.
	Delete(ctx context.Context, id string) error
}

// TokenStore reads tenants' bearer tokens and keeps their bookkeeping.
type TokenStore interface {
	Get(ctx context.Context, id string) (Token, error)
	// List returns a tenant's tokens, oldest first.
	List(ctx context.Context, tenant string) ([]Token, error)
	// Touch records that the token was used at the given time: bookkeeping
	// that no one audits, written outside any Write.
	Touch(ctx context.Context, id string, at time.Time) error
	// DeleteExpired removes tokens that expired before the given time and
	// returns how many it removed.
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
	// Lookup reads a token together with its tenant and the state of its
	// OAuth client in one query, for authenticating a request.
	// ErrNotFound if there is no such token.
	Lookup(ctx context.Context, id string) (Credential, error)
	// CredentialsVersion returns the credentials version: a number that
	// every committed change of a token, an OAuth client or a tenant
	// changes, in the change's own transaction and whichever process makes
	// it; recording a token's last use (Touch) alone does not. Equal
	// numbers mean that nothing that decides who is let in has changed in
	// between, so a caller may reuse what it concluded from rows read at
	// that version. The number only changes; it does not grow.
	CredentialsVersion(ctx context.Context) (int64, error)
}

// TokenWriter issues and revokes tokens inside a Write.
type TokenWriter interface {
	Create(ctx context.Context, t Token) error // ErrConflict on a duplicate id
	Get(ctx context.Context, id string) (Token, error)
	Revoke(ctx context.Context, id string, at time.Time) error
}

// Credential is a token read together with what decides whether it may be
// used: its tenant and, for an access token, whether its client is revoked.
type Credential struct {
	Token  Token
	Tenant Tenant
	// ClientRevoked is true for a token issued to an OAuth client that is
	// revoked or no longer exists.
	ClientRevoked bool
	// Version is the credentials version (TokenStore.CredentialsVersion)
	// of the state the rows were read in.
	Version int64
}

// OAuthClientStore reads OAuth clients.
type OAuthClientStore interface {
	Get(ctx context.Context, id string) (OAuthClient, error)
	List(ctx context.Context, tenant string) ([]OAuthClient, error) // oldest first
}

// OAuthClientWriter creates and revokes OAuth clients inside a Write.
type OAuthClientWriter interface {
	Create(ctx context.Context, c OAuthClient) error // ErrConflict on a duplicate id
	Get(ctx context.Context, id string) (OAuthClient, error)
	Revoke(ctx context.Context, id string, at time.Time) error
}

// AdminStore reads admins and their sessions.
type AdminStore interface {
	Get(ctx context.Context, id string) (Admin, error)
	GetByName(ctx context.Context, name string) (Admin, error)
	List(ctx context.Context) ([]Admin, error) // by name
	GetSession(ctx context.Context, id string) (AdminSession, error)
	// DeleteExpiredSessions removes sessions that expired before the given
	// time and returns how many it removed.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error)
}

// AdminWriter changes admins and their sessions inside a Write.
type AdminWriter interface {
	Create(ctx context.Context, a Admin) error // ErrConflict on a duplicate id or name
	GetByName(ctx context.Context, name string) (Admin, error)
	// Update replaces an admin's password hash and role.
	Update(ctx context.Context, a Admin) error
	Delete(ctx context.Context, id string) error // also ends its sessions
	CreateSession(ctx context.Context, s AdminSession) error
	// DeleteSessions ends sessions: the one with the given id (only if it
	// is the admin's, when admin is set too), or every session of the admin
	// when id is "". Ending sessions that do not exist is not an error.
	DeleteSessions(ctx context.Context, admin, id string) error
}

// AuditStore reads the audit log.
type AuditStore interface {
	List(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}

// AuditWriter appends to the audit log inside a Write.
type AuditWriter interface {
	// Append records an event. Its Seq is set by the time Write returns nil.
	Append(ctx context.Context, e *AuditEvent) error
}

// SettingsStore reads server-wide settings, kept as key and value, such as
// the public base URL the server runs at, which the CLI prints Tenant URLs
// with.
type SettingsStore interface {
	Get(ctx context.Context, key string) (string, error) // ErrNotFound if unset
}

// SettingsWriter reads and sets server-wide settings inside a Write.
type SettingsWriter interface {
	Get(ctx context.Context, key string) (string, error) // ErrNotFound if unset
	Set(ctx context.Context, key, value string) error
}

// LeaseStore hands out named leases that expire, so that a piece of
// background work runs on one node at a time however many share the
// database. The backend's clock decides expiry.
type LeaseStore interface {
	// Acquire gives the lease name to holder for ttl if it is free, expired
	// or already holder's (renewing it), and reports whether holder now
	// holds it.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Release ends holder's lease early; it does nothing if another holds it.
	Release(ctx context.Context, name, holder string) error
}
