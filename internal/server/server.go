// Package server assembles Roster's HTTP surface: the SCIM handler under its
// prefix, the admin API, the OAuth token endpoint, health endpoints, and the
// middleware every request passes through (client address through trusted
// proxies, request id, access log).
package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/store"
)

// Config says what the root handler serves.
type Config struct {
	Prefix  string       // SCIM path prefix, such as "/scim/v2"
	SCIM    http.Handler // mounted under Prefix
	Admin   http.Handler // mounted under /admin/api/; nil: none
	OAuth   http.Handler // the token endpoints under /oauth/; nil: none
	Push    http.Handler // the inbound push endpoints under /provisioning/; nil: none
	Store   store.Store  // pinged by /readyz
	Logger  *slog.Logger
	Proxies *guard.Proxies // trusted reverse proxies; nil: none
}

// New returns the root handler: SCIM under its prefix, the admin API, the
// OAuth token endpoint, /healthz and /readyz, behind the middleware that
// resolves the client through trusted proxies and logs each request.
func New(cfg Config) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	prefix := "/" + strings.Trim(cfg.Prefix, "/")
	mux.Handle(prefix+"/", cfg.SCIM)
	if cfg.Admin != nil {
		mux.Handle("/admin/api/", cfg.Admin)
	}
	if cfg.OAuth != nil {
		mux.Handle("POST /oauth/token", cfg.OAuth)
		mux.Handle("POST /oauth/{tenant}/token", cfg.OAuth)
	}
	if cfg.Push != nil {
		mux.Handle("/provisioning/", cfg.Push)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := cfg.Store.Ping(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	return guard.Middleware(cfg.Proxies, accessLog(log, mux))
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog gives every request an id (echoed in X-Request-Id) and logs it:
// server errors at error level, everything else at debug level so a busy
// provisioning cycle does not drown the log. Query strings are left out of
// the log because filters carry user names and e-mail addresses.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(guard.WithRequestID(r.Context(), id)))
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelError
		}
		if log.Enabled(r.Context(), level) {
			log.Log(r.Context(), level, "request",
				"id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start), "remote", guard.ClientOf(r).Addr)
		}
	})
}
