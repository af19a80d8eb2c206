package scimhttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/server/scimhttp"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/tenant"
)

// env is a running Roster SCIM endpoint on a fresh SQLite file, reached over
// real HTTP, with the default tenant and its token.
type env struct {
	t         *testing.T
	srv       *httptest.Server
	st        store.Store
	tenants   *tenant.Service
	roster    *app.Roster
	tenantURL string
	token     string
	vars      map[string]string
}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, app.Config{})
}

// newEnvWith is newEnv with the given configuration, assembled exactly as
// `roster serve` assembles it.
func newEnvWith(t *testing.T, cfg app.Config) *env {
	t.Helper()
	return newEnvOn(t, cfg, openStore(t))
}

// newEnvOn is newEnvWith on a store the test opened.
func newEnvOn(t *testing.T, cfg app.Config, st store.Store) *env {
	t.Helper()
	ctx := context.Background()
	roster, err := app.New(ctx, cfg, st)
	require.NoError(t, err)
	t.Cleanup(roster.Close)
	_, issued, err := roster.Tenants.Bootstrap(ctx, "default", "")
	require.NoError(t, err)
	srv := httptest.NewServer(roster.Handler)
	t.Cleanup(srv.Close)
	return &env{
		t: t, srv: srv, st: st, tenants: roster.Tenants, roster: roster,
		tenantURL: srv.URL + "/scim/v2/default", token: issued.Plaintext,
		vars: map[string]string{},
	}
}

// openStore opens a fresh, empty store: a SQLite file, or with
// ROSTER_TEST_SCIM_BACKEND=postgres (and ROSTER_TEST_PG_DSN) a new schema
// on PostgreSQL, so that the whole HTTP suite — the Entra and Okta replays
// included — runs on either backend (.ci/run runs both).
func openStore(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	if os.Getenv("ROSTER_TEST_SCIM_BACKEND") != "postgres" {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	require.NotEmpty(t, os.Getenv(pgtest.EnvDSN), "ROSTER_TEST_SCIM_BACKEND=postgres needs %s", pgtest.EnvDSN)
	return pgtest.Open(t)
}

// resp is an HTTP response with its body decoded when it is JSON.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

var varRef = regexp.MustCompile(`\{\{(\w+)\}\}`)

// expand replaces {{name}} with values saved by earlier steps.
func (e *env) expand(s string) string {
	s = strings.NewReplacer("%7B%7B", "{{", "%7D%7D", "}}").Replace(s)
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-2]
		v, ok := e.vars[name]
		require.True(e.t, ok, "variable %s not set", name)
		return v
	})
}

// do sends a request to the tenant URL (path relative to it) with the
// tenant's token unless a header overrides Authorization.
func (e *env) do(method, path, body string, headers ...string) resp {
	e.t.Helper()
	url := e.expand(path)
	if !strings.HasPrefix(url, "http") {
		url = e.tenantURL + url
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(e.expand(body))
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	r := resp{Status: res.StatusCode, Header: res.Header, Body: b}
	if len(b) > 0 {
		require.Equal(e.t, scimhttp.ContentType, res.Header.Get("Content-Type"), "%s %s: %s", method, path, b)
		require.NoError(e.t, json.Unmarshal(b, &r.JSON), "%s %s: body is not JSON: %s", method, path, b)
	}
	return r
}

// step is one request of a replayed client conversation.
type step struct {
	name   string
	method string
	path   string
	body   string
	status int
	// save stores top-level string fields of the response as variables:
	// {"user1": "id"} saves the response's id as {{user1}}.
	save  map[string]string
	check func(t *testing.T, r resp)
}

// replay runs steps in order against e, stopping at the first failure.
func (e *env) replay(steps []step) {
	e.t.Helper()
	for i, s := range steps {
		r := e.do(s.method, s.path, s.body)
		require.Equal(e.t, s.status, r.Status, "step %d %q: %s %s → %s", i+1, s.name, s.method, s.path, r.Body)
		if r.Status >= 400 {
			requireSCIMError(e.t, r, s.status)
		}
		for name, field := range s.save {
			v, ok := r.JSON[field].(string)
			require.True(e.t, ok, "step %q: no %s in %s", s.name, field, r.Body)
			e.vars[name] = v
		}
		if s.check != nil {
			s.check(e.t, r)
		}
	}
}

// requireSCIMError checks an RFC 7644 §3.12 error body.
func requireSCIMError(t *testing.T, r resp, status int) {
	t.Helper()
	require.Equal(t, []any{schema.ErrorURN}, r.JSON["schemas"], "%s", r.Body)
	require.Equal(t, itoa(status), r.JSON["status"], "%s", r.Body)
	require.NotEmpty(t, r.JSON["detail"], "%s", r.Body)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// path reads a value from decoded JSON by a dotted path with numeric list
// indexes: "name.givenName", "emails.0.value".
func path(v any, p string) any {
	parts := strings.Split(p, ".")
	for i := 0; i < len(parts); i++ {
		switch x := v.(type) {
		case map[string]any:
			// Keys such as extension URNs contain dots: take the longest
			// run of parts that names a key.
			found := false
			for j := len(parts); j > i; j-- {
				if e, ok := x[strings.Join(parts[i:j], ".")]; ok {
					v, i, found = e, j-1, true
					break
				}
			}
			if !found {
				return nil
			}
		case []any:
			var n int
			if err := json.Unmarshal([]byte(parts[i]), &n); err != nil || n >= len(x) {
				return nil
			}
			v = x[n]
		default:
			return nil
		}
	}
	return v
}

func total(r resp) int { return int(r.JSON["totalResults"].(float64)) }

func resources(r resp) []any {
	list, _ := r.JSON["Resources"].([]any)
	return list
}
