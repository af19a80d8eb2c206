package adminhttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

const password = "a long enough password"

// env is Roster's whole HTTP surface on a fresh database with one admin
// of each role.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	roster *app.Roster
	st     store.Store
}

func newEnv(t *testing.T, configure ...func(*app.Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	cfg := app.Config{ClientAuthFailures: 1000}
	for _, f := range configure {
		f(&cfg)
	}
	roster, err := app.New(context.Background(), cfg, st)
	require.NoError(t, err)
	t.Cleanup(roster.Close)
	for name, role := range map[string]string{"root": store.RoleSuperAdmin, "ada": store.RoleAdmin, "reader": store.RoleReadOnly} {
		_, err := roster.Admins.Create(ctx, name, password, role, "test")
		require.NoError(t, err)
	}
	srv := httptest.NewServer(roster.Handler)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, roster: roster, st: st}
}

type result struct {
	status int
	header http.Header
	json   map[string]any
}

// call sends a request as the admin with the given session token ("" for
// none); auth "basic:NAME" uses HTTP Basic with the test password.
func (e *env) call(method, path, auth, body string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if name, ok := strings.CutPrefix(auth, "basic:"); ok {
		req.SetBasicAuth(name, password)
	} else if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	r := result{status: res.StatusCode, header: res.Header}
	if len(b) > 0 {
		require.Equal(e.t, "application/json", res.Header.Get("Content-Type"), "%s", b)
		require.NoError(e.t, json.Unmarshal(b, &r.json), "%s", b)
	}
	return r
}

func (e *env) login(name string) string {
	e.t.Helper()
	r := e.call("POST", "/admin/api/login", "", `{"name":"`+name+`","password":"`+password+`"}`)
	require.Equal(e.t, 200, r.status, "%v", r.json)
	return r.json["token"].(string)
}

// TestAdminAPITenantAndTokenLifecycle drives what an Entra set-up needs
// through the API: create a tenant, issue a token, use it over SCIM,
// rotate, revoke, disable and delete, and reads the audit trail back.
func TestAdminAPITenantAndTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.login("root")

	r := e.call("POST", "/admin/api/tenants", root, `{"name":"acme"}`)
	require.Equal(t, 201, r.status, "%v", r.json)
	require.Equal(t, e.srv.URL+"/scim/v2/acme", r.json["tenant_url"])
	require.Equal(t, true, r.json["scim_enabled"])
	require.Equal(t, 409, e.call("POST", "/admin/api/tenants", root, `{"name":"acme"}`).status)
	require.Equal(t, 400, e.call("POST", "/admin/api/tenants", root, `{"name":"Users"}`).status)
	require.Equal(t, 400, e.call("POST", "/admin/api/tenants", root, `{"name":"users"}`).status)
	require.Equal(t, 400, e.call("POST", "/admin/api/tenants", root, `{"nmae":"typo"}`).status, "unknown fields are refused")

	r = e.call("POST", "/admin/api/tenants/acme/tokens", root, `{"label":"Entra production"}`)
	require.Equal(t, 201, r.status, "%v", r.json)
	token, tokenID := r.json["token"].(string), r.json["id"].(string)
	require.Equal(t, e.srv.URL+"/scim/v2/acme", r.json["tenant_url"])
	scim := func(tok string) int {
		req, _ := http.NewRequest("GET", e.srv.URL+"/scim/v2/acme/Users", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, 200, scim(token))

	r = e.call("POST", "/admin/api/tenants/acme/tokens", root, `{"label":"rotation","expires_in":"720h"}`)
	require.Equal(t, 201, r.status)
	rotated := r.json["token"].(string)
	require.NotEmpty(t, r.json["expires"])
	r = e.call("GET", "/admin/api/tenants/acme/tokens", root, "")
	require.Equal(t, 200, r.status)
	toks := r.json["tokens"].([]any)
	require.Len(t, toks, 2)
	for _, tok := range toks {
		require.NotContains(t, tok, "token", "a listed token never shows its secret")
		require.Equal(t, "root", tok.(map[string]any)["created_by"])
	}
	require.Equal(t, 204, e.call("DELETE", "/admin/api/tenants/acme/tokens/"+tokenID, root, "").status)
	require.Equal(t, 401, scim(token), "revoked on the next request")
	require.Equal(t, 200, scim(rotated))
	require.Equal(t, 404, e.call("DELETE", "/admin/api/tenants/default/tokens/"+tokenID, root, "").status, "a token of another tenant")

	r = e.call("PATCH", "/admin/api/tenants/acme", root, `{"scim_enabled":false}`)
	require.Equal(t, 200, r.status)
	require.Equal(t, false, r.json["scim_enabled"])
	require.Equal(t, 403, scim(rotated))
	require.Equal(t, 200, e.call("PATCH", "/admin/api/tenants/acme", root, `{"scim_enabled":true}`).status)
	require.Equal(t, 200, scim(rotated))

	require.Equal(t, 400, e.call("DELETE", "/admin/api/tenants/acme", root, "").status, "delete needs confirmation")
	require.Equal(t, 400, e.call("DELETE", "/admin/api/tenants/acme?confirm=acm", root, "").status)
	require.Equal(t, 204, e.call("DELETE", "/admin/api/tenants/acme?confirm=acme", root, "").status)
	require.Equal(t, 404, e.call("GET", "/admin/api/tenants/acme", root, "").status)
	require.Equal(t, 401, scim(rotated))

	r = e.call("GET", "/admin/api/audit?tenant=acme", root, "")
	require.Equal(t, 200, r.status)
	var actions []string
	for _, ev := range r.json["events"].([]any) {
		m := ev.(map[string]any)
		require.Equal(t, "root", m["actor"])
		require.Equal(t, "acme", m["tenant"])
		actions = append(actions, m["action"].(string))
	}
	require.Equal(t, []string{"tenant.create", "token.issue", "token.issue", "token.revoke", "tenant.disable", "tenant.enable", "tenant.delete"}, actions)
	r = e.call("GET", "/admin/api/audit?tenant=acme&after="+jsonNumber(r.json["next"])+"", root, "")
	require.Empty(t, r.json["events"], "the cursor resumes after the last event")
}

// TestAdminAPIStorePasswords: PATCH tenant sets store_passwords, which the
// tenant view shows and the audit log records; a bad value is a 400; a
// read-only admin cannot probe passwords through the users list.
func TestAdminAPIStorePasswords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root, reader := e.login("root"), e.login("reader")
	require.Equal(t, 201, e.call("POST", "/admin/api/tenants", root, `{"name":"acme"}`).status)
	r := e.call("GET", "/admin/api/tenants/acme", root, "")
	require.Equal(t, "hash", r.json["store_passwords"], "the default")
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"store_passwords":"none"}`, 200, "none"},
		{`{"store_passwords":"clear"}`, 400, "none"},
		{`{"store_passwords":""}`, 400, "none"},
		{`{"store_passwords":"hash"}`, 200, "hash"},
	} {
		r := e.call("PATCH", "/admin/api/tenants/acme", root, tc.body)
		require.Equal(t, tc.status, r.status, "%s: %v", tc.body, r.json)
		require.Equal(t, tc.want, e.call("GET", "/admin/api/tenants/acme", root, "").json["store_passwords"], tc.body)
	}
	r = e.call("GET", "/admin/api/audit?tenant=acme", root, "")
	var actions []string
	for _, ev := range r.json["events"].([]any) {
		actions = append(actions, ev.(map[string]any)["action"].(string))
	}
	require.Equal(t, []string{"tenant.create", "tenant.store_passwords", "tenant.store_passwords"}, actions)

	for _, q := range []string{"filter=" + url.QueryEscape(`password sw "A"`), "sortBy=password"} {
		r := e.call("GET", "/admin/api/tenants/acme/users?"+q, reader, "")
		require.Equal(t, 400, r.status, "%s: %v", q, r.json)
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAdminAPIRoles checks every role against what it may and may not do.
func TestAdminAPIRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.roster.Tenants.Create(ctx, "acme", "test")
	require.NoError(t, err)
	tokens := map[string]string{"root": e.login("root"), "ada": e.login("ada"), "reader": e.login("reader")}
	cases := []struct {
		method, path, body string
		allowed            []string // roles that may; the rest get 403
		status             int      // status when allowed
	}{
		{"GET", "/admin/api/tenants", "", []string{"root", "ada", "reader"}, 200},
		{"GET", "/admin/api/tenants/acme", "", []string{"root", "ada", "reader"}, 200},
		{"GET", "/admin/api/tenants/acme/users", "", []string{"root", "ada", "reader"}, 200},
		{"GET", "/admin/api/tenants/acme/groups?filter=displayName%20pr", "", []string{"root", "ada", "reader"}, 200},
		{"GET", "/admin/api/audit", "", []string{"root", "ada"}, 200},
		{"POST", "/admin/api/tenants", `{"name":"new-one"}`, []string{"root"}, 201},
		{"PATCH", "/admin/api/tenants/acme", `{"rate_limit":50}`, []string{"root"}, 200},
		{"PATCH", "/admin/api/tenants/acme", `{"store_passwords":"none"}`, []string{"root"}, 200},
		{"GET", "/admin/api/tenants/acme/tokens", "", []string{"root"}, 200},
		{"POST", "/admin/api/tenants/acme/tokens", `{"label":"x"}`, []string{"root"}, 201},
		{"PUT", "/admin/api/tenants/acme/jwt", `{"alg":"HS256","aud":"roster"}`, []string{"root"}, 200},
		{"GET", "/admin/api/tenants/acme/jwt?reveal=1", "", []string{"root"}, 200},
		{"POST", "/admin/api/tenants/acme/oauth-clients", `{"label":"x"}`, []string{"root"}, 201},
		{"GET", "/admin/api/admins", "", []string{"root"}, 200},
		{"POST", "/admin/api/admins", `{"name":"new-admin","password":"` + password + `","role":"read_only"}`, []string{"root"}, 201},
		{"DELETE", "/admin/api/tenants/acme?confirm=acme", "", []string{"root"}, 204},
	}
	for _, c := range cases {
		for _, who := range []string{"reader", "ada", "root"} { // root last: it changes things
			want := 403
			for _, a := range c.allowed {
				if a == who {
					want = c.status
				}
			}
			r := e.call(c.method, c.path, tokens[who], c.body)
			require.Equal(t, want, r.status, "%s %s as %s: %v", c.method, c.path, who, r.json)
		}
	}
	require.Equal(t, 401, e.call("GET", "/admin/api/tenants", "", "").status)
	require.Equal(t, 401, e.call("GET", "/admin/api/tenants", "roster_as_0000000000000000_"+strings.Repeat("x", 43), "").status)
	require.Equal(t, 200, e.call("GET", "/admin/api/tenants", "basic:reader", "").status, "HTTP Basic for scripts")
}

// TestAdminAPICredentials covers JWT settings (the HS256 secret shown once
// and revealed only on request), minting, IdP trust and OAuth clients.
func TestAdminAPICredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.login("root")
	require.Equal(t, 201, e.call("POST", "/admin/api/tenants", root, `{"name":"acme"}`).status)

	r := e.call("PUT", "/admin/api/tenants/acme/jwt", root, `{"alg":"HS256","aud":"roster"}`)
	require.Equal(t, 200, r.status, "%v", r.json)
	secret := r.json["secret"].(string)
	require.NotEmpty(t, secret, "the generated secret is shown once")
	r = e.call("GET", "/admin/api/tenants/acme/jwt", root, "")
	require.Equal(t, 200, r.status)
	require.NotContains(t, r.json, "secret", "and not again unless revealed")
	require.Equal(t, secret, e.call("GET", "/admin/api/tenants/acme/jwt?reveal=true", root, "").json["secret"])
	r = e.call("POST", "/admin/api/tenants/acme/jwt/tokens", root, `{"expires_in":"1h"}`)
	require.Equal(t, 201, r.status, "%v", r.json)
	jwtToken := r.json["token"].(string)
	req, _ := http.NewRequest("GET", e.srv.URL+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+jwtToken)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode, "a minted JWT works on the shared URL")

	require.Equal(t, 400, e.call("PUT", "/admin/api/tenants/acme/jwt", root, `{"alg":"RS256","aud":"roster","public_key_pem":"nope"}`).status)
	require.Equal(t, 400, e.call("PUT", "/admin/api/tenants/acme/idp", root, `{"iss":"https://sts.windows.net/x/","aud":"a","jwks_url":"http://example.com/keys"}`).status,
		"a JWKS URL must be https")
	r = e.call("PUT", "/admin/api/tenants/acme/idp", root, `{"iss":"https://sts.windows.net/x/","aud":"8adf8e6e-67b2-4cf2-a259-e3dc5476c621","jwks_url":"https://login.microsoftonline.com/x/discovery/v2.0/keys"}`)
	require.Equal(t, 200, r.status, "%v", r.json)

	r = e.call("POST", "/admin/api/tenants/acme/oauth-clients", root, `{"label":"okta"}`)
	require.Equal(t, 201, r.status)
	require.NotEmpty(t, r.json["client_secret"])
	require.Equal(t, e.srv.URL+"/oauth/acme/token", r.json["token_endpoint"])
	id := r.json["client_id"].(string)
	r = e.call("GET", "/admin/api/tenants/acme/oauth-clients", root, "")
	require.NotContains(t, r.json["oauth_clients"].([]any)[0], "client_secret")
	require.Equal(t, 204, e.call("DELETE", "/admin/api/tenants/acme/oauth-clients/"+id, root, "").status)

	r = e.call("GET", "/admin/api/audit?tenant=acme", root, "")
	var actions []string
	for _, ev := range r.json["events"].([]any) {
		actions = append(actions, ev.(map[string]any)["action"].(string))
	}
	require.Equal(t, []string{"tenant.create", "tenant.jwt.configure", "tenant.jwt.reveal", "jwt.mint", "tenant.idp.configure", "oauth_client.create", "oauth_client.revoke"}, actions)
}

// TestAdminAPISessions covers sign-in failures, their rate limit, logout and
// password changes ending sessions.
func TestAdminAPISessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("POST", "/admin/api/login", "", `{"name":"root","password":"wrong password!!"}`)
	require.Equal(t, 401, r.status)
	require.Equal(t, 401, e.call("POST", "/admin/api/login", "", `{"name":"nobody","password":"wrong password!!"}`).status)
	tok := e.login("ada")
	require.Equal(t, "ada", e.call("GET", "/admin/api/me", tok, "").json["name"])
	require.Equal(t, 204, e.call("POST", "/admin/api/logout", tok, "").status)
	require.Equal(t, 401, e.call("GET", "/admin/api/me", tok, "").status)

	tok = e.login("ada")
	require.Equal(t, 400, e.call("PUT", "/admin/api/me/password", tok, `{"current_password":"`+password+`","password":"short"}`).status)
	require.Equal(t, 204, e.call("PUT", "/admin/api/me/password", tok, `{"current_password":"`+password+`","password":"another long password"}`).status)
	require.Equal(t, 401, e.call("GET", "/admin/api/me", tok, "").status, "a password change ends sessions")

	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	require.Equal(t, 413, e.call("POST", "/admin/api/login", "", big).status)
}

// TestAdminLoginRateLimit shows that an address guessing passwords is
// blocked with 429 and Retry-After.
func TestAdminLoginRateLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	roster, err := app.New(context.Background(), app.Config{ClientAuthFailures: 3}, st)
	require.NoError(t, err)
	t.Cleanup(roster.Close)
	srv := httptest.NewServer(roster.Handler)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, roster: roster}
	for range 3 {
		require.Equal(t, 401, e.call("POST", "/admin/api/login", "", `{"name":"root","password":"guess guess guess"}`).status)
	}
	r := e.call("GET", "/admin/api/tenants", "basic:root", "")
	require.Equal(t, 429, r.status)
	require.NotEmpty(t, r.header.Get("Retry-After"))
}
