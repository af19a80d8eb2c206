package scimhttp_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/store"
)

// TestMalformedInputRefused sends ids, tenant names, credentials and query
// parameters that are not valid UTF-8 or hold control characters to every
// surface (SCIM, admin API, token endpoint). PostgreSQL cannot hold such
// text and answered 500, unauthenticated and uncounted; each is refused
// before it reaches the store: a name or id as unknown (404), a query
// parameter as invalid (400), a credential as wrong (401), counted by the
// failed-authentication limit like any other wrong credential. Run it on
// PostgreSQL with ROSTER_TEST_SCIM_BACKEND=postgres.
func TestMalformedInputRefused(t *testing.T) {
	t.Parallel()
	// Two failures a minute per address: a credential case's repeated
	// request from the same address shows whether its first was counted.
	e := newEnvWith(t, app.Config{ClientAuthFailures: 2, TrustedProxies: []string{"127.0.0.0/8"}})
	ctx := context.Background()
	_, err := e.roster.Admins.Create(ctx, "root", "a long enough password", store.RoleSuperAdmin, "test")
	require.NoError(t, err)
	client, secret, err := e.tenants.CreateOAuthClient(ctx, "default", "entra", "test")
	require.NoError(t, err)

	send := func(t *testing.T, from, method, path, auth, contentType, body string) int {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, e.srv.URL+path, rd)
		require.NoError(t, err)
		req.Header.Set("X-Forwarded-For", from)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode
	}
	// Sign in from an address no case uses, so no case starts blocked.
	login := send(t, "192.0.2.250", "POST", "/admin/api/login", "", "application/json", `{"name":"root","password":"a long enough password"}`)
	require.Equal(t, 200, login)
	session, err := e.roster.Admins.Login(ctx, "root", "a long enough password")
	require.NoError(t, err)
	scim, admin := "Bearer "+e.token, "Bearer "+session.Token
	basic := func(name, password string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+password))
	}
	form := "application/x-www-form-urlencoded"
	grant := "grant_type=client_credentials"
	oauthBasic := basic(url.QueryEscape(client.ID), url.QueryEscape(secret))

	for i, tc := range []struct {
		name, method, path, auth, contentType, body string
		status                                      int
		// valid is a request with good credentials: after a credential
		// case the bad request, repeated, must get 429 (the failure was
		// counted), and this one must still pass from the same address.
		valid [3]string // path, auth, then the body of a POST
	}{
		{name: "SCIMTenantNotUTF8", method: "GET", path: "/scim/v2/%FF/Users", auth: scim, status: 404},
		{name: "SCIMTenantControl", method: "GET", path: "/scim/v2/def%01ault/Users", auth: scim, status: 404},
		{name: "SCIMUserIDNotUTF8", method: "GET", path: "/scim/v2/default/Users/%C3%28", auth: scim, status: 404},
		{name: "SCIMGroupIDNUL", method: "DELETE", path: "/scim/v2/default/Groups/a%00b", auth: scim, status: 404},
		{name: "SCIMUserIDControl", method: "GET", path: "/scim/v2/default/Users/a%1Bb", auth: scim, status: 404},
		{name: "SCIMSharedURLUserID", method: "GET", path: "/scim/v2/Users/%FF%FE", auth: scim, status: 404},
		{name: "SCIMQueryNotUTF8", method: "GET", path: "/scim/v2/default/Users?sortBy=%FF", auth: scim, status: 400},
		{name: "SCIMFilterNUL", method: "GET", path: "/scim/v2/default/Users?filter=" + url.QueryEscape("userName eq \"a\x00\""), auth: scim, status: 400},
		{
			name: "SCIMBearerNotUTF8", method: "GET", path: "/scim/v2/default/Users", auth: "Bearer roster_\xff\xfe00000000000000_secret", status: 401,
			valid: [3]string{"/scim/v2/default/Users", scim},
		},
		{
			name: "SCIMSharedURLBearerNotUTF8", method: "GET", path: "/scim/v2/Users", auth: "Bearer roster_at_0000000000000\xff\xfe_x", status: 401,
			valid: [3]string{"/scim/v2/Users", scim},
		},
		{name: "AdminTenantNotUTF8", method: "GET", path: "/admin/api/tenants/%FF", auth: admin, status: 404},
		{name: "AdminTenantControl", method: "GET", path: "/admin/api/tenants/a%7Fb/users", auth: admin, status: 404},
		{name: "AdminUserIDNotUTF8", method: "GET", path: "/admin/api/tenants/default/users/%FF", auth: admin, status: 404},
		{name: "AdminTokenIDNUL", method: "DELETE", path: "/admin/api/tenants/default/tokens/a%00b", auth: admin, status: 404},
		{name: "AdminAdminNameNotUTF8", method: "DELETE", path: "/admin/api/admins/%FF", auth: admin, status: 404},
		{name: "AdminQueryNotUTF8", method: "GET", path: "/admin/api/audit?tenant=%FF", auth: admin, status: 400},
		{name: "AdminQueryNUL", method: "GET", path: "/admin/api/tenants/default/users?filter=%00", auth: admin, status: 400},
		{
			name: "AdminSessionNotUTF8", method: "GET", path: "/admin/api/me", auth: "Bearer roster_as_\xff\xfe00000000000000_x", status: 401,
			valid: [3]string{"/admin/api/me", admin},
		},
		{
			name: "AdminBasicNameNotUTF8", method: "GET", path: "/admin/api/me", auth: basic("ro\xffot", "a long enough password"), status: 401,
			valid: [3]string{"/admin/api/me", admin},
		},
		{
			name: "AdminBasicNameControl", method: "GET", path: "/admin/api/me", auth: basic("ro\x01ot", "a long enough password"), status: 401,
			valid: [3]string{"/admin/api/me", admin},
		},
		{
			name: "AdminLoginNameControl", method: "POST", path: "/admin/api/login", contentType: "application/json",
			body: `{"name":"ro\u0001ot","password":"a long enough password"}`, status: 401,
			valid: [3]string{"/admin/api/me", admin},
		},
		{
			name: "OAuthTenantNotUTF8", method: "POST", path: "/oauth/%FF/token", auth: oauthBasic, contentType: form, body: grant, status: 401,
			valid: [3]string{"/oauth/default/token", oauthBasic, grant},
		},
		{
			name: "OAuthClientIDNotUTF8", method: "POST", path: "/oauth/token", contentType: form,
			body: grant + "&client_id=%FF%FE&client_secret=" + url.QueryEscape(secret), status: 401,
			valid: [3]string{"/oauth/default/token", oauthBasic, grant},
		},
		{
			name: "OAuthClientIDNUL", method: "POST", path: "/oauth/token", contentType: form,
			body: grant + "&client_id=roster-client-%00&client_secret=" + url.QueryEscape(secret), status: 401,
			valid: [3]string{"/oauth/default/token", oauthBasic, grant},
		},
		{
			name: "OAuthBasicClientIDNotUTF8", method: "POST", path: "/oauth/default/token", auth: basic("%FF", url.QueryEscape(secret)),
			contentType: form, body: grant, status: 401,
			valid: [3]string{"/oauth/default/token", oauthBasic, grant},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Subtests share the server; each has an address of its own.
			from := "198.51.100." + itoa(i+1)
			require.Equal(t, tc.status, send(t, from, tc.method, tc.path, tc.auth, tc.contentType, tc.body))
			if tc.valid[0] == "" {
				return
			}
			// Within the budget of two, the repeated bad request is refused
			// with 429 (tokens count the failure that empties the budget,
			// passwords are refused once none is left to reserve).
			got := send(t, from, tc.method, tc.path, tc.auth, tc.contentType, tc.body)
			if got != 429 {
				got = send(t, from, tc.method, tc.path, tc.auth, tc.contentType, tc.body)
			}
			require.Equal(t, 429, got, "the refused credential counts as a failed authentication")
			method, ct := "GET", ""
			if tc.valid[2] != "" {
				method, ct = "POST", form
			}
			require.Equal(t, 200, send(t, from, method, tc.valid[0], tc.valid[1], ct, tc.valid[2]),
				"a valid credential passes from an address over its failure budget")
		})
	}
}
