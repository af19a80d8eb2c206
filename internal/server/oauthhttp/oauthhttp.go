// Package oauthhttp serves the OAuth 2.0 token endpoint (RFC 6749 §4.4, the
// client credentials grant) through which an identity provider configured
// with a client id and secret obtains short-lived bearer tokens for a
// tenant's SCIM requests.
//
// Two URLs answer: <base>/oauth/<tenant>/token, and <base>/oauth/token where
// the client id alone names the tenant.
package oauthhttp

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/tenant"
)

// maxBody bounds a token request; real ones are a few hundred bytes.
const maxBody = 16 << 10

// Handler serves the token endpoint.
type Handler struct {
	tenants     *tenant.Service
	failures    *guard.FailureLimiter // per client address; may be nil
	log         *slog.Logger
	bodyTimeout time.Duration
}

// New returns a Handler. failures, when not nil, limits how often a client
// address may present wrong client credentials: past the budget those get
// 429, while valid ones still pass. bodyTimeout is how long a request's
// body may take to arrive (0: [guard.DefaultBodyTimeout]): anyone may call
// the endpoint, so it must not hold a connection for long.
func New(tenants *tenant.Service, failures *guard.FailureLimiter, log *slog.Logger, bodyTimeout time.Duration) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{tenants: tenants, failures: failures, log: log, bodyTimeout: bodyTimeout}
}

// ServeHTTP answers a token request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	now := time.Now()
	addr := guard.ClientOf(r).Addr
	// The client is checked before the failure limit is consulted: its
	// secret costs one SHA-256 and one indexed read, so there is nothing to
	// spare a blocked address, and identity providers send every customer's
	// requests from shared addresses, where one customer's stale secret must
	// not stop the others. Only failures over the budget get 429.
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	done := guard.BodyDeadline(w, h.bodyTimeout)
	err := r.ParseForm()
	if done(err) {
		h.log.Info("OAUTH-0408 token request body not received in time", "remote", addr, "timeout", h.bodyTimeout)
		writeError(w, http.StatusRequestTimeout, "invalid_request", "the request body did not arrive in time")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded and at most 16 KiB")
		return
	}
	for k, vs := range r.Form {
		if k == "client_id" || k == "client_secret" {
			// Credentials are judged by the token service: a malformed one
			// is a wrong one, answered 401 and counted against the address.
			continue
		}
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				writeError(w, http.StatusBadRequest, "invalid_request", "parameters may not contain NUL characters")
				return
			}
		}
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "only grant_type=client_credentials is supported")
		return
	}
	id, secret, basic, err := clientCredentials(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	tok, err := h.tenants.ExchangeClientCredentials(r.Context(), r.PathValue("tenant"), id, secret)
	switch {
	case errors.Is(err, tenant.ErrInvalidClient):
		h.log.Info("OAUTH-0401 client authentication failed", "remote", addr, "reason", err)
		if h.failures != nil {
			if wait, blocked := h.failures.Fail(guard.AddrKey(addr), now); blocked {
				w.Header().Set("Retry-After", guard.RetryAfter(wait))
				writeError(w, http.StatusTooManyRequests, "slow_down", "too many failed attempts from this address")
				return
			}
		}
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="roster"`)
		}
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	case err != nil:
		h.log.Error("OAUTH-0500 token request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "internal error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok.Token,
		"token_type":   "Bearer",
		"expires_in":   int(time.Until(tok.Expires).Round(time.Second).Seconds()),
	})
}

// clientCredentials reads the client id and secret from HTTP Basic
// authentication (form-encoded, RFC 6749 §2.3.1) or from the body, not both.
func clientCredentials(r *http.Request) (id, secret string, basic bool, err error) {
	if u, p, ok := r.BasicAuth(); ok {
		if r.PostForm.Has("client_secret") {
			return "", "", true, errors.New("use one client authentication method, not two")
		}
		if id, err = url.QueryUnescape(u); err == nil {
			secret, err = url.QueryUnescape(p)
		}
		if err != nil {
			return "", "", true, errors.New("malformed client credentials in the Authorization header")
		}
		return id, secret, true, nil
	}
	id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if strings.TrimSpace(id) == "" || secret == "" {
		return "", "", false, errors.New("client_id and client_secret are required")
	}
	return id, secret, false, nil
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
