// Package adminhttp serves Roster's admin API under /admin/api/: JSON over
// HTTP for everything the CLI does to tenants, credentials and admins, plus
// reading a tenant's users and groups and the audit log, and provisioning
// jobs with their cycles, logs and links. docs/admin-api.md
// documents it.
//
// Every request authenticates as an admin, with a session token from
// POST /admin/api/login ("Authorization: Bearer …") or with HTTP Basic
// name and password, and is checked against the admin's role.
package adminhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/admin"
	"github.com/rosterhq/roster/internal/audit"
	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/push"
	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scim/strictjson"
	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
	"github.com/rosterhq/roster/internal/webhook"
)

// maxBody bounds a request body; admin requests are small.
const maxBody = 1 << 20

// Config configures the admin API.
type Config struct {
	// URLs are where the server is publicly reached, for the Tenant URLs
	// in answers. An empty Base is derived from each request.
	URLs   tenant.URLs
	Logger *slog.Logger
	// Failures limits failed sign-ins per client address: past the budget,
	// passwords are refused before they are checked and wrong session
	// tokens get 429, while valid session tokens still pass. Nil: no limit.
	Failures *guard.FailureLimiter
	// Feed serves the pull feed of change events.
	Feed *feed.Feed
	// Webhooks lists and redelivers webhook deliveries.
	Webhooks *webhook.Service
	// Endpoints manages webhook endpoints.
	Endpoints *webhook.Endpoints
	// Audit reads the audit log and the tenants' history.
	Audit *audit.Log
	// Jobs manages provisioning jobs, Engine tests and triggers them, and
	// Reports reads what the engine kept of them.
	Jobs    *job.Service
	Engine  *engine.Engine
	Reports *report.Reader
	// Push issues the push tokens of jobs of source type push.
	Push *push.Service
	// LoginBodyTimeout is how long the body of a sign-in may take to
	// arrive; 0 means guard.DefaultBodyTimeout. Anyone may call sign-in,
	// so a body trickled in must not hold a connection for long.
	LoginBodyTimeout time.Duration
}

// Handler serves the admin API.
type Handler struct {
	cfg       Config
	tenants   *tenant.Service
	admins    *admin.Service
	dir       *directory.Service
	audit     *audit.Log
	feed      *feed.Feed
	webhooks  *webhook.Service
	endpoints *webhook.Endpoints
	log       *slog.Logger
	mux       *http.ServeMux
}

// New returns the admin API handler.
func New(cfg Config, tenants *tenant.Service, admins *admin.Service, dir *directory.Service) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		cfg: cfg, tenants: tenants, admins: admins, dir: dir,
		audit: cfg.Audit, feed: cfg.Feed, webhooks: cfg.Webhooks, endpoints: cfg.Endpoints, log: cfg.Logger, mux: http.NewServeMux(),
	}
	h.routes()
	return h
}

// call is one authenticated admin API request.
type call struct {
	*http.Request
	admin store.Admin
	urls  tenant.URLs
}

// actor names the admin in the audit log.
func (c *call) actor() string { return c.admin.Name }

type handlerFunc func(w http.ResponseWriter, c *call) error

// handle registers an endpoint that needs permission p.
func (h *Handler) handle(pattern string, p admin.Permission, fn handlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		a, err := h.authenticate(w, r)
		if err == nil && !admin.Allowed(a.Role, p) {
			err = errForbidden
		}
		if err == nil {
			err = fn(w, &call{Request: r, admin: a, urls: h.urls(r)})
		}
		if err != nil {
			h.fail(w, r, err)
		}
	})
}

// ServeHTTP serves an admin API request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("ADMIN-0500 panic while serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			writeError(w, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	w.Header().Set("Cache-Control", "no-store")
	// Tenant names, ids and query values that are not well-formed text name
	// nothing; refusing them here keeps them from the store, which on
	// PostgreSQL would fail rather than find nothing.
	if !store.WellFormed(r.URL.Path) {
		writeError(w, http.StatusNotFound, "not_found", "nothing at this path")
		return
	}
	if !guard.WellFormedQuery(r.URL.RawQuery) {
		writeError(w, http.StatusBadRequest, "invalid_request", "query parameters must be valid UTF-8 without control characters")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := checkOrigin(r); err != nil {
		h.log.Info("ADMIN-0403 cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		h.fail(w, r, err)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) urls(r *http.Request) tenant.URLs {
	u := h.cfg.URLs
	if u.Base == "" {
		c := guard.ClientOf(r)
		u.Base = c.Scheme + "://" + c.Host
	}
	return u
}

// apiError is an error with the status and code the API answers with.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

var (
	errUnauthorized = &apiError{http.StatusUnauthorized, "unauthorized", "sign in with POST /admin/api/login or HTTP Basic authentication"}
	errForbidden    = &apiError{http.StatusForbidden, "forbidden", "your role does not allow this"}
)

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

// authenticate resolves the admin of a request. A session token costs one
// SHA-256 and one indexed read, so it is checked whatever the address's
// record: a valid one always passes, and only failures over the budget get
// 429. A password (HTTP Basic) costs an argon2id hash, so it goes through
// checkPassword.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (store.Admin, error) {
	authorization := r.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	var a store.Admin
	var err error
	if strings.EqualFold(scheme, "Basic") {
		err = h.checkPassword(w, r, func() error {
			var cerr error
			a, cerr = h.admins.Authenticate(r.Context(), authorization)
			return cerr
		})
	} else {
		a, err = h.admins.Authenticate(r.Context(), authorization)
		if errors.Is(err, admin.ErrUnauthorized) {
			if ferr := h.failed(w, r); ferr != nil {
				return a, ferr
			}
		}
	}
	if errors.Is(err, admin.ErrUnauthorized) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster-admin", Basic realm="roster-admin"`)
		return a, errUnauthorized
	}
	return a, err
}

// checkPassword runs check, which checks an admin's password, with one
// failed sign-in reserved against the client address before the argon2id
// hash runs: however many wrong guesses arrive at once, no more than the
// address's remaining budget get as far as the hash, and the rest get 429.
// The reservation counts as a failure if check returns
// admin.ErrUnauthorized and is given back otherwise. If the process has no
// password slot free in time, the answer is 503 with Retry-After.
func (h *Handler) checkPassword(w http.ResponseWriter, r *http.Request, check func() error) error {
	addr := guard.ClientOf(r).Addr
	var res *guard.Reservation
	if h.cfg.Failures != nil {
		var wait time.Duration
		var ok bool
		if res, wait, ok = h.cfg.Failures.Reserve(guard.AddrKey(addr), time.Now()); !ok {
			return tooManySignIns(w, wait)
		}
	}
	err := check()
	switch {
	case errors.Is(err, admin.ErrUnauthorized):
		h.log.Info("ADMIN-0401 admin authentication failed", "remote", addr)
		res.Fail(time.Now())
	case errors.Is(err, credential.ErrBusy):
		res.Release()
		h.log.Warn("ADMIN-0503 no password slot came free in time", "remote", addr)
		w.Header().Set("Retry-After", "1")
		return &apiError{http.StatusServiceUnavailable, "busy", "too many sign-ins are in progress; retry in a moment"}
	default:
		res.Release()
	}
	return err
}

// failed records a failed authentication that cost no password hash and,
// if the address has now failed too often, returns the 429 to answer.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request) error {
	addr := guard.ClientOf(r).Addr
	h.log.Info("ADMIN-0401 admin authentication failed", "remote", addr)
	if h.cfg.Failures == nil {
		return nil
	}
	if wait, blocked := h.cfg.Failures.Fail(guard.AddrKey(addr), time.Now()); blocked {
		return tooManySignIns(w, wait)
	}
	return nil
}

func tooManySignIns(w http.ResponseWriter, wait time.Duration) error {
	w.Header().Set("Retry-After", guard.RetryAfter(wait))
	return &apiError{http.StatusTooManyRequests, "too_many_requests", "too many failed sign-ins from this address"}
}

// fail writes err as a JSON error, logging what the client must not see.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
	case errors.Is(err, tenant.ErrInvalid), errors.Is(err, admin.ErrInvalid), errors.Is(err, webhook.ErrInvalid), errors.Is(err, job.ErrInvalid):
		ae = &apiError{http.StatusBadRequest, "invalid_request", err.Error()}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{http.StatusNotFound, "not_found", err.Error()}
	case errors.Is(err, store.ErrConflict):
		ae = &apiError{http.StatusConflict, "conflict", err.Error()}
	case errors.Is(err, store.ErrSchemaAhead):
		h.log.Error("ADMIN-0506 write refused: this node's build is older than the database schema; upgrade it", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", "this server's build is older than the database schema; upgrade it"}
	case errors.Is(err, store.ErrUnavailable):
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", "the database is unavailable; retry later"}
	case scimerr.As(err) != nil:
		se := scimerr.As(err)
		ae = &apiError{se.Status, "invalid_request", se.Detail}
	default:
		h.log.Error("ADMIN-0501 request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error"}
	}
	writeError(w, ae.status, ae.code, ae.msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// decode reads a JSON body into v, refusing unknown fields so that a typo
// in a setting is an error rather than silently ignored. The body must be
// declared application/json (see checkJSON) and hold one JSON value and
// nothing after it but white space: a form field such as
// `{"name":"x","role":"super_admin"}=` is not a JSON body.
func decode(r *http.Request, v any) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("invalid JSON body: data after the JSON value")
	}
	return nil
}

// readJSON reads a request body declared as JSON (see checkJSON) and
// checks it as decode does, for a handler that gives the bytes to a
// service's own parser.
func readJSON(r *http.Request) ([]byte, error) {
	if err := checkJSON(r); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err) // a *http.MaxBytesError, a timeout, or the client went away
	}
	if guard.HasNULEscape(body) {
		return nil, badRequest(`strings may not contain \u0000`)
	}
	// As for SCIM bodies: invalid UTF-8 would be stored as U+FFFD, and of
	// two keys differing in case encoding/json would take either.
	if err := strictjson.Check(body); err != nil {
		return nil, err
	}
	return body, nil
}

// expiry reads an optional lifetime ("720h") or time (RFC 3339).
func expiry(expiresIn, expiresAt string, now time.Time) (time.Time, error) {
	switch {
	case expiresIn != "" && expiresAt != "":
		return time.Time{}, badRequest("give expires_in or expires_at, not both")
	case expiresIn != "":
		d, err := time.ParseDuration(expiresIn)
		if err != nil || d <= 0 {
			return time.Time{}, badRequest("expires_in must be a positive duration such as \"720h\"")
		}
		return now.Add(d), nil
	case expiresAt != "":
		t, err := time.Parse(time.RFC3339, expiresAt)
		if err != nil {
			return time.Time{}, badRequest("expires_at must be an RFC 3339 time")
		}
		return t, nil
	}
	return time.Time{}, nil
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes":
		return true
	}
	return false
}
