package target_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/target"
	"github.com/rosterhq/roster/internal/scimclient"
)

// TestFromJob maps a job's target document to Options.
func TestFromJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      job.Target
		dialect string
		put     bool
		bad     string
	}{
		{name: "Defaults", in: job.Target{URL: "https://a/scim"}, dialect: "rfc"},
		{name: "RFC", in: job.Target{Dialect: "rfc"}, dialect: "rfc"},
		{name: "Entra", in: job.Target{Dialect: "entra"}, dialect: "entra"},
		{name: "Entra062020", in: job.Target{Dialect: "entra-062020"}, dialect: "entra-aadOptscim062020"},
		{name: "OktaPutsByDefault", in: job.Target{Dialect: "okta"}, dialect: "okta", put: true},
		{name: "OktaWithPatch", in: job.Target{Dialect: "okta", Update: "patch"}, dialect: "okta"},
		{name: "RFCWithPut", in: job.Target{Update: "put"}, dialect: "rfc", put: true},
		{name: "UnknownDialect", in: job.Target{Dialect: "azure"}, bad: "unknown dialect"},
		{name: "UnknownUpdate", in: job.Target{Update: "post"}, bad: "unknown update"},
		{name: "TokenAndOAuth", in: job.Target{Token: "t", OAuth: &job.OAuthClient{TokenURL: "https://t", ClientID: "c"}}, bad: "both"},
		{name: "OAuthWithoutURL", in: job.Target{OAuth: &job.OAuthClient{ClientID: "c"}}, bad: "token URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := target.FromJob(tc.in)
			if tc.bad != "" {
				require.ErrorContains(t, err, tc.bad)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.dialect, o.Dialect.Name)
			require.Equal(t, tc.put, o.UpdateWithPUT)
		})
	}

	o, err := target.FromJob(job.Target{URL: "https://a/scim", Token: "t", MembersPerPatch: 50, RequestsPerSecond: 5, Concurrency: 2})
	require.NoError(t, err)
	require.Equal(t, target.Options{
		URL: "https://a/scim", Token: "t", Dialect: scimclient.RFC,
		MembersPerPatch: 50, RequestsPerSecond: 5, Concurrency: 2,
	}, o)
}

// TestOAuthClientCredentials runs a job's OAuth client against a token
// endpoint and a real Roster fronted by a check of the bearer token: the
// grant carries the client's id, secret and scope, a token is reused
// until shortly before it expires, and a token that expires within the
// margin is fetched again.
func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		expiresIn int
		fetches   int
	}{
		{name: "Reused", expiresIn: 3600, fetches: 1},
		{name: "ExpiresWithinMargin", expiresIn: 5, fetches: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			fetches := 0
			tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				id, secret, ok := req.BasicAuth()
				if !ok {
					id, secret = req.FormValue("client_id"), req.FormValue("client_secret")
				}
				if req.FormValue("grant_type") != "client_credentials" || id != "roster" || secret != "s3cret" || req.FormValue("scope") != "scim.read scim.write" {
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprint(w, `{"error":"invalid_client"}`)
					return
				}
				mu.Lock()
				fetches++
				n := fetches
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, tc.expiresIn)
			}))
			t.Cleanup(tokens.Close)

			// The app takes any token the endpoint issued.
			var seen []string
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				mu.Lock()
				seen = append(seen, req.Header.Get("Authorization"))
				mu.Unlock()
				w.Header().Set("Content-Type", scimType)
				fmt.Fprint(w, `{"totalResults":0,"Resources":[]}`)
			}))
			t.Cleanup(app.Close)

			o, err := target.FromJob(job.Target{URL: app.URL, OAuth: &job.OAuthClient{
				TokenURL: tokens.URL, ClientID: "roster", ClientSecret: "s3cret", Scope: "scim.read scim.write",
			}})
			require.NoError(t, err)
			tg, err := target.New(o)
			require.NoError(t, err)
			for range 3 {
				require.NoError(t, tg.Test(context.Background(), ""))
			}
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, tc.fetches, fetches)
			require.Equal(t, "Bearer tok-1", seen[0])
			require.Equal(t, fmt.Sprintf("Bearer tok-%d", tc.fetches), seen[2])
		})
	}
}
