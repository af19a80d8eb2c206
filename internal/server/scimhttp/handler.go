// Package scimhttp serves the SCIM 2.0 protocol of RFC 7644 over HTTP for
// every tenant: /Users, /Groups, /.search, /Bulk and the discovery endpoints
// under each Tenant URL. Handlers return errors; one writer turns them into
// SCIM error bodies, so no panic, stack trace or HTML ever reaches a client.
package scimhttp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
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
	// meta.location and Location headers.
	BaseURL string
	// Prefix is the path the handler is mounted at, such as "/scim/v2".
	Prefix string
	Logger *slog.Logger
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
	tenant  store.Tenant
	baseURL string // the Tenant URL
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
	tenantName, rest, _ := strings.Cut(rest, "/")
	segs := splitPath(rest)

	t, err := h.authenticate(r, strings.ToLower(tenantName))
	if err != nil {
		return err
	}
	req := &request{Request: r, tenant: t, baseURL: h.cfg.BaseURL + "/" + t.Name}

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

func (h *Handler) authenticate(r *http.Request, tenantName string) (store.Tenant, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		token = ""
	}
	t, _, err := h.tenants.Authenticate(r.Context(), tenantName, strings.TrimSpace(token))
	switch {
	case errors.Is(err, tenant.ErrUnauthorized):
		return t, errUnauthorized
	case errors.Is(err, tenant.ErrDisabled):
		return t, scimerr.Forbidden("SCIM provisioning is disabled for this tenant; an administrator can enable it")
	case err != nil:
		return t, fmt.Errorf("authenticate: %w", err)
	}
	return t, nil
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
	return body, nil
}

// stream is a buffered response writer for resources written piece by piece.
type stream struct {
	*bufio.Writer
	err error
}

func newStream(w http.ResponseWriter, status int) *stream {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	return &stream{Writer: bufio.NewWriterSize(w, 32<<10)}
}

func (s *stream) json(v any) {
	if s.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.err = err
		return
	}
	_, s.err = s.Write(b)
}

func (s *stream) raw(str string) {
	if s.err == nil {
		_, s.err = s.WriteString(str)
	}
}
