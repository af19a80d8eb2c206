// Package scimhttp serves the SCIM 2.0 protocol of RFC 7644 over HTTP for
// every tenant: /Users, /Groups, /.search, /Bulk and the discovery endpoints
// under each Tenant URL. Handlers return errors; one writer turns them into
// SCIM error bodies, so no panic, stack trace or HTML ever reaches a client.
package scimhttp

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/server/respond"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
)

// ContentType is the media type of every SCIM response, per RFC 7644 §3.1.
const ContentType = "application/scim+json"

// Limits advertised in /ServiceProviderConfig and enforced.
const (
	MaxPayloadSize    = 1 << 20 // bytes of a single request body
	MaxBulkPayload    = 1 << 20 // bytes of a /Bulk request body
	MaxBulkOperations = 1000
)

// Config configures the handler.
type Config struct {
	// BaseURL is the public URL the SCIM root is reached at, without the
	// tenant, such as "https://roster.example.com/scim/v2". It is used in
	// meta.location and Location headers. Empty means it is derived from
	// each request's scheme and host, as forwarded by trusted proxies.
	BaseURL string
	// Prefix is the path the handler is mounted at, such as "/scim/v2".
	Prefix string
	Logger *slog.Logger

	// ClientFailures limits failed authentications from one client address:
	// past the budget, its failures get 429 instead of 401 until the budget
	// recovers, while its requests with a valid credential still pass. Nil:
	// no limit.
	ClientFailures *guard.FailureLimiter
	// TenantFailures limits failed authentications against one tenant from
	// everywhere: past the budget, failures get 429 instead of 401, while
	// requests with a valid credential still pass. Nil: no limit.
	TenantFailures *guard.FailureLimiter
	// Requests limits each tenant's request rate: a tenant's own RateLimit
	// setting, or else RequestRate per second. Nil or both zero: no limit.
	Requests    *guard.RateLimiter
	RequestRate float64
	// Concurrent limits each tenant's requests in flight on this node.
	// Nil: no limit.
	Concurrent *guard.Concurrency
	// ListConcurrent limits each tenant's lists and searches in flight on
	// this node, tighter than Concurrent: a filter no index helps holds a
	// database connection and a core for as long as it scans, so a tenant
	// running many at once would take every read connection and core
	// while other tenants wait. Nil: no limit.
	ListConcurrent *guard.Concurrency
}

// Handler serves SCIM requests of every tenant.
type Handler struct {
	cfg     Config
	dir     *directory.Service
	tenants *tenant.Service
	reg     *schema.Registry
	log     *slog.Logger
}

// New returns a Handler.
func New(cfg Config, dir *directory.Service, tenants *tenant.Service) *Handler {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.Prefix = "/" + strings.Trim(cfg.Prefix, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, dir: dir, tenants: tenants, reg: dir.Registry(), log: cfg.Logger}
}

// request is one authenticated SCIM request.
type request struct {
	*http.Request
	tenant    store.Tenant
	principal tenant.Principal
	baseURL   string // the Tenant URL the request came to
	release   func() // gives the tenant's concurrency slot back
}

// ServeHTTP routes a request. Endpoint names match case-insensitively, and a
// trailing slash is ignored, because real clients send "/users" and
// "/Users/?filter=" (IDP-NOTES §3.2).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("SCIM-0500 panic while serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			writeError(w, scimerr.New(http.StatusInternalServerError, "", "internal error"))
		}
	}()
	if err := h.serve(w, r); err != nil {
		h.fail(w, r, err)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	rest, ok := strings.CutPrefix(r.URL.Path, h.cfg.Prefix+"/")
	if !ok {
		return scimerr.NotFound("no SCIM endpoint at %s", r.URL.Path)
	}
	// A tenant name or resource id that is not well-formed text names
	// nothing; refusing it here keeps it from the store, which on
	// PostgreSQL would fail rather than find nothing.
	if !store.WellFormed(rest) {
		return scimerr.NotFound("no SCIM endpoint or resource at this path")
	}
	if !guard.WellFormedQuery(r.URL.RawQuery) {
		return scimerr.InvalidValue("query parameters must be valid UTF-8 without control characters")
	}
	// On the shared Tenant URL an endpoint name follows the prefix and the
	// credential names the tenant; otherwise the tenant's name does.
	first, after, _ := strings.Cut(rest, "/")
	tenantName, segs := "", splitPath(rest)
	if !tenant.IsEndpoint(first) {
		tenantName, segs = strings.ToLower(first), splitPath(after)
	}

	req, err := h.authenticate(w, r, tenantName)
	if err != nil {
		return err
	}
	defer req.release()

	if len(segs) == 0 {
		return scimerr.NotFound("no SCIM endpoint at %s; try %s/Users", r.URL.Path, req.baseURL)
	}
	switch strings.ToLower(segs[0]) {
	case "users":
		return h.resources(w, req, h.reg.User(), segs[1:])
	case "groups":
		return h.resources(w, req, h.reg.Group(), segs[1:])
	case ".search":
		if len(segs) != 1 {
			break
		}
		if r.Method != http.MethodPost {
			return methodNotAllowed(w, "POST")
		}
		return h.search(w, req, nil)
	case "bulk":
		if len(segs) != 1 {
			break
		}
		if r.Method != http.MethodPost {
			return methodNotAllowed(w, "POST")
		}
		return h.bulk(w, req)
	case "serviceproviderconfig":
		if len(segs) != 1 {
			break
		}
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return writeJSON(w, http.StatusOK, h.serviceProviderConfig(req))
	case "schemas":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return h.schemas(w, req, segs[1:])
	case "resourcetypes":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return h.resourceTypes(w, req, segs[1:])
	case "me":
		return scimerr.NotImplemented("/Me is not supported: requests authenticate as a provisioning client, not as a user")
	}
	return scimerr.NotFound("no SCIM endpoint at %s", r.URL.Path)
}

// authenticate resolves the tenant and principal of a request, applying
// the failed-authentication and request-rate limits.
//
// The credential is checked before the failure limits are consulted: a
// Secret Token or OAuth access token costs one SHA-256 and one indexed
// read, a JWT one signature check, so there is no costly check to spare a
// blocked address. Entra and Okta send every customer's requests from
// shared addresses, so refusing an address would let one customer's stale
// token stop provisioning for every tenant; only failures over the budget
// get 429.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, tenantName string) (*request, error) {
	now := time.Now()
	addr := guard.ClientOf(r).Addr
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		token = ""
	}
	t, p, err := h.tenants.Authenticate(r.Context(), tenantName, strings.TrimSpace(token))
	switch {
	case errors.Is(err, tenant.ErrUnauthorized):
		h.log.Info("SCIM-0401 authentication failed", "tenant", tenantName, "remote", addr, "reason", err)
		var clientWait, tenantWait time.Duration
		var clientBlocked, tenantBlocked bool
		if h.cfg.ClientFailures != nil {
			clientWait, clientBlocked = h.cfg.ClientFailures.Fail(guard.AddrKey(addr), now)
		}
		if h.cfg.TenantFailures != nil && tenantName != "" {
			tenantWait, tenantBlocked = h.cfg.TenantFailures.Fail(tenantName, now)
		}
		switch {
		case clientBlocked:
			return nil, tooManyRequests(w, clientWait, "too many failed authentications from this address")
		case tenantBlocked:
			return nil, tooManyRequests(w, tenantWait, "too many failed authentications for this tenant")
		}
		return nil, errUnauthorized
	case errors.Is(err, tenant.ErrIdPUnavailable):
		h.log.Warn("SCIM-0503 cannot verify an identity provider's JWT", "tenant", tenantName, "err", err)
		w.Header().Set("Retry-After", "30")
		return nil, scimerr.New(http.StatusServiceUnavailable, "", "the identity provider's signing keys cannot be fetched; retry later")
	case errors.Is(err, tenant.ErrDisabled):
		return nil, scimerr.Forbidden("SCIM provisioning is disabled for this tenant; an administrator can enable it")
	case err != nil:
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if rate := cmp.Or(t.Settings.RateLimit, h.cfg.RequestRate); h.cfg.Requests != nil && rate > 0 {
		burst := max(1, int(math.Ceil(rate)))
		if wait, ok := h.cfg.Requests.Allow(t.ID, rate, burst, now); !ok {
			return nil, tooManyRequests(w, wait, "this tenant's request rate limit is exceeded")
		}
	}
	release, ok := h.cfg.Concurrent.Acquire(r.Context(), t.ID)
	if !ok {
		h.log.Debug("SCIM-0429 tenant has too many requests in flight", "tenant", t.Name, "remote", addr)
		return nil, tooManyRequests(w, time.Second, "this tenant has too many requests in progress")
	}
	base := h.scimBase(r)
	if tenantName != "" {
		base += "/" + t.Name
	}
	// Changes this request makes are recorded in history as made by the
	// tenant's actor, with the credential and request they came through.
	ctx := directory.WithOrigin(r.Context(), directory.Origin{
		Actor:      cmp.Or(t.Settings.HistoryActor, directory.DefaultActor),
		ActorLabel: p.Label,
		Credential: p.Kind + ":" + p.ID,
		RequestID:  guard.RequestID(r.Context()),
		ClientAddr: addr,
	})
	return &request{Request: r.WithContext(ctx), tenant: t, principal: p, baseURL: base, release: release}, nil
}

// scimBase is the public URL of the SCIM root for a request.
func (h *Handler) scimBase(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL
	}
	c := guard.ClientOf(r)
	return c.Scheme + "://" + c.Host + h.cfg.Prefix
}

// tooManyRequests answers 429 with the Retry-After that Entra and Okta honour.
func tooManyRequests(w http.ResponseWriter, wait time.Duration, why string) error {
	w.Header().Set("Retry-After", guard.RetryAfter(wait))
	return scimerr.New(http.StatusTooManyRequests, "", "%s; retry after %s s", why, guard.RetryAfter(wait))
}

var errUnauthorized = scimerr.Unauthorized("a valid bearer token for this Tenant URL is required")

func splitPath(p string) []string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

// fail writes err as a SCIM error, logging what the client must not see.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	se := scimerr.As(err)
	var mbe *http.MaxBytesError
	switch {
	case se != nil:
	case errors.As(err, &mbe):
		se = scimerr.PayloadTooLarge("request body exceeds %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrSchemaAhead):
		h.log.Error("SCIM-0506 write refused: this node's build is older than the database schema; upgrade it", "method", r.Method, "path", r.URL.Path, "err", err)
		se = scimerr.New(http.StatusServiceUnavailable, "", "this server is being upgraded; retry later")
	case errors.Is(err, store.ErrUnavailable):
		se = scimerr.New(http.StatusServiceUnavailable, "", "the database is unavailable; retry later")
	case errors.Is(err, context.Canceled):
		return // the client went away
	case errors.Is(err, store.ErrNotFound):
		se = scimerr.NotFound("not found")
	default:
		h.log.Error("SCIM-0501 request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		se = scimerr.New(http.StatusInternalServerError, "", "internal error")
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	}
	writeError(w, se)
}

// errorBody is a SCIM error message, per RFC 7644 §3.12.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

func writeError(w http.ResponseWriter, e *scimerr.Error) {
	_ = writeJSON(w, e.Status, errorBody{
		Schemas:  []string{schema.ErrorURN},
		Status:   strconv.Itoa(e.Status),
		ScimType: string(e.ScimType),
		Detail:   e.Detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

func methodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return scimerr.MethodNotAllowed("method not allowed; use %s", allow)
}

// readBody reads a request body of at most limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, scimerr.PayloadTooLarge("request body exceeds the maximum of %d bytes", limit)
		}
		return nil, scimerr.InvalidSyntax("cannot read request body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, scimerr.InvalidSyntax("request body is empty")
	}
	if guard.HasNULEscape(body) {
		return nil, scimerr.InvalidValue(`strings may not contain \u0000`)
	}
	return body, nil
}

// stream is a buffered response writer for resources written piece by
// piece. Unless started early, the status line goes out with the first
// bytes that leave the buffer, so a failure before then (reading a page's
// groups, or anything in a small answer) still gets a proper SCIM error;
// after it, the response can only be cut short.
type stream struct {
	*bufio.Writer
	out *respond.Writer
	err error
}

func newStream(w http.ResponseWriter, status int) *stream {
	out := respond.NewWriter(w, status, ContentType)
	return &stream{Writer: bufio.NewWriterSize(out, 32<<10), out: out}
}

// start sends the status line now, before any of the body: from here on a
// failure cuts the body short instead of changing the status.
func (s *stream) start() { s.out.Start() }

// started reports whether the status line has been sent.
func (s *stream) started() bool { return s.out.Started() }

func (s *stream) raw(str string) {
	if s.err == nil {
		_, s.err = s.WriteString(str)
	}
}
