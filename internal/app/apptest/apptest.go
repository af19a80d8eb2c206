// Package apptest starts a real Roster for tests of the packages that talk
// to one over HTTP (the SCIM source, the engine's target, the engine): a
// fresh store on the chosen backend, the default tenant bootstrapped,
// served by httptest. Runtime code never imports it.
package apptest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// Backends are the stores tests run a Roster on; "postgres" skips unless
// ROSTER_TEST_PG_DSN is set.
var Backends = []string{"sqlite", "postgres"}

// Server is a running Roster.
type Server struct {
	// URL is the server's root URL; TenantURL the default tenant's.
	URL, TenantURL string
	// Token is the default tenant's bootstrap Secret Token.
	Token string
	Store store.Store
	// Handler is Roster's handler, unwrapped.
	Handler http.Handler
}

// Start starts a Roster on backend ("sqlite" or "postgres"); wrap, if not
// nil, wraps its handler (to make it behave like a server with fewer
// features). Everything stops at the test's cleanup.
func Start(t testing.TB, backend string, wrap func(http.Handler) http.Handler) *Server {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	if backend == "postgres" {
		st = pgtest.Open(t)
	} else {
		sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
		if err != nil {
			t.Fatalf("open SQLite: %v", err)
		}
		t.Cleanup(func() { sq.Close() })
		st = sq
	}
	r, err := app.New(ctx, app.Config{}, st)
	if err != nil {
		t.Fatalf("assemble Roster: %v", err)
	}
	t.Cleanup(r.Close)
	_, issued, err := r.Tenants.Bootstrap(ctx, "default", "")
	if err != nil {
		t.Fatalf("bootstrap the default tenant: %v", err)
	}
	h := r.Handler
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Server{URL: srv.URL, TenantURL: srv.URL + "/scim/v2/default", Token: issued.Plaintext, Store: st, Handler: r.Handler}
}
