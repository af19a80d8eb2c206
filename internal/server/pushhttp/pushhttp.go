// Package pushhttp serves the inbound push endpoint of jobs of source type
// push, shaped as Entra's API-driven inbound provisioning /bulkUpload:
//
//	POST /provisioning/jobs/{name}/bulkUpload        a BulkRequest of ≤ 50 records → 202
//	GET  /provisioning/jobs/{name}/bulkUpload        the job's record seq (an authoritative upload's mark)
//	POST /provisioning/jobs/{name}/bulkUpload/sweep  {"mark": N}: end an authoritative upload
//
// Each request is authenticated by the job's own push token (Bearer), not
// a tenant's or an admin's credential. A request of the right shape is
// answered 202 Accepted with a Location naming the job's provisioning log
// from the moment it was staged; its records are processed by the job's
// next cycle, which the request triggers.
package pushhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/provision/push"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/store"
)

// Config configures the handler.
type Config struct {
	Push *push.Service
	// Trigger makes the job's next cycle due now (engine.Trigger).
	Trigger func(ctx context.Context, job string) error
	Logger  *slog.Logger
	// TriggerEvery bounds how often requests of one job trigger it: a
	// trigger is a write, and a job already due needs no second one.
	// Default 1 second.
	TriggerEvery time.Duration
	// Failures, if set, counts failed authentications by client address
	// (the SCIM endpoints' limiter, so that guessing push tokens and SCIM
	// tokens share one budget): past it a failure gets 429. A valid push
	// token always passes, as a valid SCIM token does.
	Failures *guard.FailureLimiter
}

// Handler serves the push endpoints.
type Handler struct {
	cfg  Config
	mux  *http.ServeMux
	mu   sync.Mutex
	last map[string]time.Time // when each job was last triggered
}

// New returns the push handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TriggerEvery <= 0 {
		cfg.TriggerEvery = time.Second
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), last: map[string]time.Time{}}
	h.mux.HandleFunc("POST /provisioning/jobs/{name}/bulkUpload", h.handle(h.bulkUpload))
	h.mux.HandleFunc("GET /provisioning/jobs/{name}/bulkUpload", h.handle(h.mark))
	h.mux.HandleFunc("POST /provisioning/jobs/{name}/bulkUpload/sweep", h.handle(h.sweep))
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// handle authenticates the request with the job's push token and writes
// what fn returns; an error is written as a SCIM error.
func (h *Handler) handle(fn func(http.ResponseWriter, *http.Request, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		err := h.authenticate(r, name)
		if e := scimerr.As(err); e != nil && e.Status == http.StatusUnauthorized {
			addr := guard.ClientOf(r).Addr
			h.cfg.Logger.Info("PUSH-0401 authentication failed", "job", name, "remote", addr, "reason", e.Detail)
			if h.cfg.Failures != nil {
				if wait, blocked := h.cfg.Failures.Fail(guard.AddrKey(addr), time.Now()); blocked {
					w.Header().Set("Retry-After", guard.RetryAfter(wait))
					err = scimerr.New(http.StatusTooManyRequests, "", "too many failed authentications from this address; retry after %s s", guard.RetryAfter(wait))
				}
			}
		}
		if err == nil {
			err = fn(w, r, name)
		}
		if err == nil {
			return
		}
		e := scimerr.As(err)
		if e == nil {
			h.cfg.Logger.Error("push: request failed", "job", name, "err", err)
			e = scimerr.New(http.StatusInternalServerError, "", "the request could not be processed")
		}
		if e.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roster push"`)
		}
		body := map[string]any{"schemas": []string{schema.ErrorURN}, "status": strconv.Itoa(e.Status), "detail": e.Detail}
		if e.ScimType != "" {
			body["scimType"] = string(e.ScimType)
		}
		writeJSON(w, e.Status, body)
	}
}

func (h *Handler) authenticate(r *http.Request, name string) error {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return scimerr.Unauthorized("a Bearer push token of the job is required (roster job push-token %s)", name)
	}
	err := h.cfg.Push.Authenticate(r.Context(), name, strings.TrimSpace(token))
	if errors.Is(err, push.ErrUnauthorized) {
		return scimerr.Unauthorized("the token is not the push token of job %s", name)
	}
	return err
}

// bulkUpload stages a BulkRequest of records and answers 202.
func (h *Handler) bulkUpload(w http.ResponseWriter, r *http.Request, name string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/scim+json" && mt != "application/json") {
		// Entra answers 400 without application/scim+json; Roster also
		// takes application/json, as its SCIM endpoints do.
		return scimerr.InvalidSyntax("Content-Type must be application/scim+json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, push.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return scimerr.PayloadTooLarge("the body exceeds %d bytes", push.MaxBodyBytes)
		}
		return scimerr.InvalidSyntax("read the body: %v", err)
	}
	req, err := push.ParseBulkRequest(body)
	switch {
	case errors.Is(err, push.ErrTooManyOperations):
		// RFC 7644 §3.7.4: more operations than maxOperations is 413.
		return scimerr.PayloadTooLarge("%v; send at most %d records per request", err, push.MaxOperations)
	case err != nil:
		return scimerr.InvalidSyntax("%v", err)
	}
	rc, err := h.cfg.Push.Push(r.Context(), name, req)
	if err != nil {
		return jobError(err, name)
	}
	h.trigger(r.Context(), name)
	w.Header().Set("Location", rc.Logs)
	writeJSON(w, http.StatusAccepted, rc)
	return nil
}

// mark answers the job's record seq, which an authoritative upload sends
// back to sweep once its last record is in.
func (h *Handler) mark(w http.ResponseWriter, r *http.Request, name string) error {
	n, err := h.cfg.Push.Mark(r.Context(), name)
	if err != nil {
		return jobError(err, name)
	}
	writeJSON(w, http.StatusOK, map[string]any{"lastSeq": n})
	return nil
}

// sweep ends an authoritative upload: records not written since the mark
// are marked deleted.
func (h *Handler) sweep(w http.ResponseWriter, r *http.Request, name string) error {
	var in struct {
		Mark *int64 `json:"mark"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil || in.Mark == nil || *in.Mark < 0 {
		return scimerr.InvalidSyntax(`the body must be {"mark": N}, N the lastSeq read before the upload began`)
	}
	n, err := h.cfg.Push.Sweep(r.Context(), name, *in.Mark, "push:"+name)
	if err != nil {
		return jobError(err, name)
	}
	h.trigger(r.Context(), name)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": n})
	return nil
}

// trigger makes the job due, at most once per TriggerEvery per job. A
// failure is logged, not answered: the records are staged and the job's
// schedule reads them anyway.
func (h *Handler) trigger(ctx context.Context, name string) {
	if h.cfg.Trigger == nil {
		return
	}
	now := time.Now()
	h.mu.Lock()
	due := now.Sub(h.last[name]) >= h.cfg.TriggerEvery
	if due {
		h.last[name] = now
	}
	h.mu.Unlock()
	if !due {
		return
	}
	if err := h.cfg.Trigger(ctx, name); err != nil {
		h.cfg.Logger.Warn("push: trigger the job's cycle", "job", name, "err", err)
	}
}

func jobError(err error, name string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return scimerr.NotFound("job %s not found", name)
	case errors.Is(err, push.ErrNotPushJob):
		return scimerr.BadRequest("%v", err)
	}
	return fmt.Errorf("job %s: %w", name, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/scim+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
