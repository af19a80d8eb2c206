package adminhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// TestAdminAPICrossSiteRequests replays what a hostile page can make a
// browser send to Roster with the admin's cached Basic credentials, and
// what curl and the CLI send: only requests from Roster's own origin, or
// from no page at all, with a JSON body, may change anything. Every
// refused request must leave no admin behind.
func TestAdminAPICrossSiteRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const admin = `{"name":"NAME","password":"` + password + `","role":"super_admin"}`
	cases := []struct {
		name        string
		method      string
		contentType string
		body        string // NAME is replaced by a fresh admin name
		header      map[string]string
		status      int
	}{
		{name: "CurlJSON", contentType: "application/json", body: admin, status: 201},
		{name: "JSONWithCharset", contentType: "application/json; charset=utf-8", body: admin, status: 201},
		{name: "JSONWithCharsetUpperCase", contentType: "Application/JSON; charset=UTF-8", body: admin, status: 201},
		{name: "SameOriginFetch", contentType: "application/json", body: admin,
			header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL}, status: 201},
		{name: "SameOriginOlderBrowser", contentType: "application/json", body: admin,
			header: map[string]string{"Origin": e.srv.URL}, status: 201},
		{name: "SameOriginDefaultPort", contentType: "application/json", body: admin,
			header: map[string]string{"Origin": "http://example.com"}, status: 201}, // Host set below
		{name: "TextPlain", contentType: "text/plain", body: admin, status: 415},
		{name: "FormEncoded", contentType: "application/x-www-form-urlencoded", body: admin, status: 415},
		{name: "Multipart", contentType: "multipart/form-data; boundary=x", body: admin, status: 415},
		{name: "NoContentType", body: admin, status: 415},
		{name: "JSONWithOtherParameter", contentType: "application/json; boundary=x", body: admin, status: 415},
		{name: "JSONInLatin1", contentType: "application/json; charset=iso-8859-1", body: admin, status: 415},
		{name: "ScimJSON", contentType: "application/scim+json", body: admin, status: 415},
		{name: "TrailingFormField", contentType: "application/json", body: admin + "=", status: 400},
		{name: "TrailingValue", contentType: "application/json", body: admin + `{"name":"other"}`, status: 400},
		{name: "TrailingWhiteSpace", contentType: "application/json", body: admin + "\r\n\t ", status: 201},
		{name: "CrossSiteFetch", contentType: "application/json", body: admin,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, status: 403},
		{name: "CrossSiteForm", contentType: "text/plain", body: admin,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, status: 403},
		{name: "SameSiteSubdomain", contentType: "application/json", body: admin,
			header: map[string]string{"Sec-Fetch-Site": "same-site"}, status: 403},
		{name: "ForgedSameOriginButSecFetchSiteCrossSite", contentType: "application/json", body: admin,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": e.srv.URL}, status: 403},
		{name: "OlderBrowserOtherOrigin", contentType: "application/json", body: admin,
			header: map[string]string{"Origin": "https://evil.example"}, status: 403},
		{name: "OlderBrowserOtherPort", contentType: "application/json", body: admin,
			header: map[string]string{"Origin": "http://127.0.0.1:1"}, status: 403},
		{name: "NullOrigin", contentType: "application/json", body: admin,
			header: map[string]string{"Origin": "null"}, status: 403},
		{name: "CrossSiteDelete", method: "DELETE", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			name := "csrf-" + strings.ToLower(c.name)
			method, path := "POST", "/admin/api/admins"
			if c.method != "" {
				method, path = c.method, "/admin/api/admins/ada"
			}
			req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(strings.ReplaceAll(c.body, "NAME", name)))
			require.NoError(t, err)
			req.SetBasicAuth("root", password)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			if c.name == "SameOriginDefaultPort" {
				req.Host = "example.com:80"
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			require.Equal(t, c.status, res.StatusCode, "%s", b)
			if method == "POST" {
				_, err = e.roster.Admins.Get(context.Background(), name)
				if c.status == 201 {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, store.ErrNotFound, "a refused request creates no admin")
				}
			}
		})
	}
}

// TestAdminAPILoginCrossSite checks that a page cannot sign an admin in
// (login CSRF), while a same-origin page and curl can.
func TestAdminAPILoginCrossSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := `{"name":"root","password":"` + password + `"}`
	cases := []struct {
		name        string
		contentType string
		header      map[string]string
		status      int
	}{
		{"Curl", "application/json", nil, 200},
		{"SameOrigin", "application/json", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"CrossSite", "application/json", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"OtherOrigin", "application/json", map[string]string{"Origin": "https://evil.example"}, 403},
		{"TextPlain", "text/plain", nil, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest("POST", e.srv.URL+"/admin/api/login", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", c.contentType)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, c.status, res.StatusCode)
		})
	}
}

// TestAdminAPIOriginBehindProxy checks that the Origin is compared with
// the host the browser asked the proxy for, which only a trusted proxy's
// X-Forwarded-Host can tell.
func TestAdminAPIOriginBehindProxy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	roster, err := app.New(ctx, app.Config{ClientAuthFailures: 1000, TrustedProxies: []string{"127.0.0.1"}}, st)
	require.NoError(t, err)
	t.Cleanup(roster.Close)
	_, err = roster.Admins.Create(ctx, "root", password, store.RoleSuperAdmin, "test")
	require.NoError(t, err)
	srv := httptest.NewServer(roster.Handler)
	t.Cleanup(srv.Close)
	cases := []struct {
		name, origin, forwardedHost string
		status                      int
	}{
		{"PublicHost", "https://roster.example.com", "roster.example.com", 201},
		{"PublicHostDefaultPort", "https://roster.example.com", "roster.example.com:443", 201},
		{"OtherHost", "https://evil.example", "roster.example.com", 403},
		{"BackendHostIsNotThePublicOne", "http://" + strings.TrimPrefix(srv.URL, "http://"), "roster.example.com", 403},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			body := `{"name":"tenant-` + string(rune('a'+i)) + `"}`
			req, err := http.NewRequest("POST", srv.URL+"/admin/api/tenants", strings.NewReader(body))
			require.NoError(t, err)
			req.SetBasicAuth("root", password)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", c.origin)
			req.Header.Set("X-Forwarded-Host", c.forwardedHost)
			req.Header.Set("X-Forwarded-Proto", "https")
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			require.Equal(t, c.status, res.StatusCode, "%s", b)
		})
	}
}
